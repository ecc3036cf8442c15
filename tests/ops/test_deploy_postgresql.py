"""deploy/postgresql and deploy/pgbackrest, checked by PostgreSQL and pgBackRest themselves.

The conf fragments go through ``postgres -C`` (the server's own parser); the
pg_hba fragment and roles script are loaded into a throwaway cluster and
then tried with real logins; a real streaming replica is made with
``pg_basebackup -R`` exactly as docs/deploy.md says, follows a write, and is
promoted; pgBackRest archives WAL and takes a full backup with our config.
Rewrites for a test machine are in tests/helpers/pg_deploy.py, each named.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.helpers import pg_deploy as d
from tests.helpers.pg_cluster import ENV_URL, find_pg_bin

pytestmark = [
    pytest.mark.skipif(find_pg_bin() is None, reason="PostgreSQL is not installed "
                       "(tools/install-test-deps installs it)"),
    pytest.mark.skipif(bool(os.environ.get(ENV_URL)),
                       reason=f"{ENV_URL} points at an existing server; these tests build "
                              "clusters of their own from deploy/postgresql"),
]

ROOT = Path(__file__).resolve().parents[2]


def _postgres_c(data: Path, name: str) -> subprocess.CompletedProcess[str]:
    """What the server would use for ``name`` after reading every config file."""
    return subprocess.run(d._as_cluster_user([str(d.pg_bin() / "postgres"), "-D", str(data),
                                              "-C", name]),
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    root = d.make_root()
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def checked_data(scratch: Path) -> Path:
    """One initdb'd folder whose postgresql.conf includes hotline.conf (each test writes it)."""
    data = d.initdb(scratch, "check", "x")
    with open(data / "postgresql.conf", "a") as conf:
        conf.write("\ninclude 'hotline.conf'\n")
    return data


@pytest.mark.parametrize("fragment", ["primary.conf", "replica.conf", "keystore.conf"])
def test_conf_fragments_parse_and_keep_durability_on(checked_data: Path, fragment: str) -> None:
    data = checked_data
    (data / "hotline.conf").write_text((d.DEPLOY_PG / fragment).read_text())
    d.give_to_cluster_user(data / "hotline.conf")
    for name, want in {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
                       "wal_level": "replica", "log_statement": "none",
                       "password_encryption": "scram-sha-256",
                       "log_min_duration_statement": "-1"}.items():
        got = _postgres_c(data, name)
        assert got.returncode == 0, got.stderr
        assert got.stdout.strip() == want, (fragment, name, got.stdout)
    archive = _postgres_c(data, "archive_mode").stdout.strip()
    assert archive == ("off" if fragment == "keystore.conf" else "on")
    # ...and the parser can fail: a bad value in the same place is refused.
    (data / "hotline.conf").write_text("wal_level = replicaa\n")
    bad = _postgres_c(data, "wal_level")
    assert bad.returncode != 0 and "wal_level" in bad.stderr


def test_hba_fragments_refuse_everything_not_named() -> None:
    """Every line is a rule (no typo parsed as something else); the last rules reject."""
    for name in ("pg_hba.conf", "pg_hba-keystore.conf"):
        rules = [ln.split() for ln in (d.DEPLOY_PG / name).read_text().splitlines()
                 if ln.strip() and not ln.lstrip().startswith("#")]
        assert rules[-1][-1] == "reject" and rules[-2][-1] == "reject"
        for rule in rules:
            assert rule[-1] in ("scram-sha-256", "peer", "reject"), rule  # never trust/md5
            if rule[0] == "hostssl":
                assert rule[3].endswith("/32"), rule
    main = (d.DEPLOY_PG / "pg_hba.conf").read_text()
    keys = (d.DEPLOY_PG / "pg_hba-keystore.conf").read_text()
    assert "hotline_keys" not in main  # the key store's role has no door into the main cluster
    assert not re.search(r"^\S+\s+\S+\s+hotline\s", keys, re.M)  # nor the main role into its


@pytest.fixture(scope="module")
def pair() -> Iterator[d.Pair]:
    made = d.Pair()
    yield made
    made.close()


def test_hba_and_roles_let_in_only_whom_they_name(pair: d.Pair) -> None:
    errors = pair.primary.cluster.psql(
        "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL")
    assert errors.strip() == ""
    with psycopg.connect(pair.url("hotline")) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("hotline",)
        conn.execute("CREATE TABLE probe (x int)")  # it owns the public schema
        row = conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles"
                           " WHERE rolname = current_user").fetchone()
        assert row == (False, False, False)
    for role, database in (("hotline", "postgres"), ("replicator", "hotline")):
        with pytest.raises(psycopg.OperationalError, match=r"rejects connection|no pg_hba"):
            psycopg.connect(pair.url(role, database), connect_timeout=10).close()
    wrong = f"postgresql://hotline:wrong@127.0.0.1:{pair.port}/hotline"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=10).close()


@pytest.mark.skipif(shutil.which("pgbackrest") is None,
                    reason="pgBackRest is not installed (Debian package: pgbackrest; "
                           "tools/install-test-deps installs it)")
def test_pgbackrest_archives_wal_and_takes_an_encrypted_full_backup(pair: d.Pair) -> None:
    def backrest(*args: str) -> subprocess.CompletedProcess[str]:
        return pair.primary.as_user(["pgbackrest", *pair.pgbackrest_options.split(),
                                     "--stanza=hotline", *args], check=False)

    for step in (["stanza-create"], ["check"], ["--type=full", "backup"]):
        done = backrest(*step)
        assert done.returncode == 0, (step, done.stdout + done.stderr)
    info = json.loads(backrest("info", "--output=json").stdout)
    stanza = info[0]
    assert stanza["status"]["code"] == 0, stanza["status"]
    assert [b["type"] for b in stanza["backup"]] == ["full"]
    assert stanza["cipher"] == "aes-256-cbc"
    assert stanza["archive"][0]["max"]  # WAL reached the archive
    # Encrypted at rest: nothing in the repository reads as the cluster's files.
    manifest = next((pair.root / "repo").rglob("backup.manifest"))
    assert b"pg_data" not in manifest.read_bytes()


@pytest.mark.skipif(shutil.which("pgbackrest") is None,
                    reason="pgBackRest is not installed (Debian package: pgbackrest)")
def test_pgbackrest_restores_the_backup_plus_the_archived_wal(pair: d.Pair) -> None:
    """The RPO of docs/deploy.md: a commit made AFTER the full backup comes back too,
    from the WAL archive, into a fresh data folder on another port."""
    with psycopg.connect(pair.url("hotline"), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS pitr_probe (note text)")
        conn.execute("INSERT INTO pitr_probe VALUES ('after the full backup')")
    check = pair.primary.as_user(["pgbackrest", *pair.pgbackrest_options.split(),
                                  "--stanza=hotline", "check"], check=False)  # switches WAL
    assert check.returncode == 0, check.stderr
    target = pair.root / "restored"
    target.mkdir(mode=0o700)
    d.give_to_cluster_user(target)
    done = pair.primary.as_user(["pgbackrest", *pair.pgbackrest_options.split(),
                                 "--stanza=hotline", f"--pg1-path={target}", "restore"],
                                check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    port = d._free_port()
    (target / "test-overrides.conf").write_text(d.overrides(pair.root, port))
    restored = d.start(pair.root, target, port, pair.passwords["postgres"])
    try:
        with psycopg.connect(pair.url("hotline", port=port), autocommit=True) as conn:
            for _ in range(1200):  # it answers reads while replaying: wait for the end
                if conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,):
                    break
                time.sleep(0.05)
            rows = conn.execute("SELECT note FROM pitr_probe").fetchall()
        assert rows == [("after the full backup",)]
    finally:
        restored.stop()


def test_streaming_replica_from_pg_basebackup_follows_and_promotes(pair: d.Pair) -> None:
    """docs/deploy.md's standby recipe, run: base backup -R through the slot, replica.conf,
    a write on the primary read on the standby, read-only there, then promoted and writable."""
    pair.add_replica()
    data = pair.root / "replica"
    replica_port = pair.replica_port
    assert (data / "standby.signal").exists()
    auto = (data / "postgresql.auto.conf").read_text()
    assert "primary_conninfo" in auto and "primary_slot_name = 'hotline_replica'" in auto
    assert pair.replica is not None

    with psycopg.connect(pair.url("hotline"), autocommit=True) as primary:
        primary.execute("CREATE TABLE failover_probe (tip text)")
        primary.execute("INSERT INTO failover_probe VALUES ('before failover')")
        lsn = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        standbys = primary.execute("SELECT application_name, state FROM pg_stat_replication"
                                   ).fetchall()
    assert standbys == [("hotline_replica", "streaming")]
    with psycopg.connect(pair.url("hotline", port=replica_port), autocommit=True) as standby:
        for _ in range(600):  # replay is asynchronous: wait for the LSN, not for a time
            if standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                               (lsn,)).fetchone()[0]:
                break
            time.sleep(0.05)
        assert standby.execute("SELECT tip FROM failover_probe").fetchall() == \
            [("before failover",)]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            standby.execute("INSERT INTO failover_probe VALUES ('on a standby')")
    # The URL docs/deploy.md gives the front ends: both machines, the writable one wins.
    both = (f"host=127.0.0.1,127.0.0.1 port={pair.port},{replica_port} dbname=hotline "
            f"user=hotline password={pair.passwords['hotline']} "
            "target_session_attrs=read-write connect_timeout=5")
    with psycopg.connect(both) as conn:
        assert conn.info.port == pair.port
    # Failover: the old primary is fenced (stopped), the operator promotes the standby.
    pair.primary.stop()
    pair.replica.cluster._pg_ctl("promote", "-w")
    with psycopg.connect(pair.url("hotline", port=replica_port), autocommit=True) as promoted:
        assert promoted.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
        promoted.execute("INSERT INTO failover_probe VALUES ('after failover')")
        assert len(promoted.execute("SELECT * FROM failover_probe").fetchall()) == 2
    with psycopg.connect(both) as conn:  # the same URL now reaches the promoted standby
        assert conn.info.port == replica_port
