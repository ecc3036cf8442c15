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
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.helpers import pg_deploy as d
from tests.helpers.pg_cluster import ENV_URL, _free_port, find_pg_bin

pytestmark = [
    pytest.mark.skipif(find_pg_bin() is None, reason="PostgreSQL is not installed "
                       "(tools/install-test-deps installs it)"),
    pytest.mark.skipif(bool(os.environ.get(ENV_URL)),
                       reason=f"{ENV_URL} points at an existing server; these tests build "
                              "clusters of their own from deploy/postgresql"),
]

ROOT = Path(__file__).resolve().parents[2]
PGBACKREST_CONF = ROOT / "deploy" / "pgbackrest" / "pgbackrest.conf"


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


@pytest.mark.parametrize("fragment", ["primary.conf", "replica.conf", "keystore.conf"])
def test_conf_fragments_parse_and_keep_durability_on(scratch: Path, fragment: str) -> None:
    data = d.initdb(scratch, f"check_{fragment.split('.')[0]}", "x")
    (data / "hotline.conf").write_text((d.DEPLOY_PG / fragment).read_text())
    d.give_to_cluster_user(data / "hotline.conf")
    with open(data / "postgresql.conf", "a") as conf:
        conf.write("\ninclude 'hotline.conf'\n")
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


class Pair:
    """A primary made from primary.conf + pg_hba.conf + roles-main.sql, archiving to pgBackRest."""

    def __init__(self) -> None:
        self.root = d.make_root()
        self.passwords = {"postgres": secrets.token_hex(8), "hotline": secrets.token_hex(8),
                          "replicator": secrets.token_hex(8)}
        self.port = _free_port()
        self.pgbackrest_conf = self._pgbackrest_config()
        # Where /etc/pgbackrest/pgbackrest.conf and /etc/pgbackrest/conf.d/ would be.
        self.pgbackrest_options = (f"--config={self.pgbackrest_conf} "
                                   f"--config-include-path={self.root / 'conf.d'}")
        data = d.initdb(self.root, "primary", self.passwords["postgres"])
        archive = (f"pgbackrest {self.pgbackrest_options} --stanza=hotline archive-push %p")
        d.install_fragment(data, "primary.conf",
                           d.overrides(self.root, self.port, archive_command=archive))
        (data / "pg_hba.conf").write_text(d.hba_for_test("pg_hba.conf"))
        d.give_to_cluster_user(data / "pg_hba.conf")
        self.primary = d.start(self.root, data, self.port, self.passwords["postgres"])
        d.run_sql_file(self.primary, "roles-main.sql",
                       {"hotline_password": self.passwords["hotline"],
                        "replicator_password": self.passwords["replicator"]})
        self.replica: d.DeployedCluster | None = None

    def _pgbackrest_config(self) -> Path:
        """deploy/pgbackrest/pgbackrest.conf with its folders moved into the temp root."""
        text = PGBACKREST_CONF.read_text()
        moves = {"/var/lib/pgbackrest": self.root / "repo", "/var/spool/pgbackrest":
                 self.root / "spool", "/tmp/pgbackrest": self.root / "lock",  # noqa: S108 - the file says it
                 "/var/log/pgbackrest": self.root / "log",
                 "/var/lib/postgresql/15/main": self.root / "primary",
                 "/var/run/postgresql": self.root / "sock"}
        for old, new in moves.items():
            text = text.replace(f"={old}\n", f"={new}\n")
            if new.name != "primary" and new.name != "sock":
                new.mkdir()
                d.give_to_cluster_user(new)
        text = text.replace("pg1-port=5432", f"pg1-port={self.port}")
        include = self.root / "conf.d"
        include.mkdir()
        (include / "cipher.conf").write_text(f"[global]\nrepo1-cipher-pass={secrets.token_hex(24)}\n")
        (include / "cipher.conf").chmod(0o600)
        d.give_to_cluster_user(include / "cipher.conf")
        d.give_to_cluster_user(include)
        conf = self.root / "pgbackrest.conf"
        conf.write_text(text)
        d.give_to_cluster_user(conf)
        return conf

    def url(self, role: str, database: str = "hotline", port: int | None = None) -> str:
        return (f"postgresql://{role}:{self.passwords[role]}@127.0.0.1:"
                f"{port or self.port}/{database}")

    def close(self) -> None:
        if self.replica is not None:
            self.replica.stop()
        self.primary.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    made = Pair()
    yield made
    made.close()


def test_hba_and_roles_let_in_only_whom_they_name(pair: Pair) -> None:
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
def test_pgbackrest_archives_wal_and_takes_an_encrypted_full_backup(pair: Pair) -> None:
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


def test_streaming_replica_from_pg_basebackup_follows_and_promotes(pair: Pair) -> None:
    """docs/deploy.md's standby recipe, run: base backup -R through the slot, replica.conf,
    a write on the primary read on the standby, read-only there, then promoted and writable."""
    replica_port = _free_port()
    data = pair.root / "replica"
    data.mkdir(mode=0o700)
    d.give_to_cluster_user(data)
    env = dict(os.environ, PGPASSWORD=pair.passwords["replicator"])
    pair.primary.as_user([str(d.pg_bin() / "pg_basebackup"), "-h", "127.0.0.1", "-p",
                          str(pair.port), "-U", "replicator", "-D", str(data), "-R",
                          "-X", "stream", "-S", "hotline_replica", "-c", "fast"], env=env)
    assert (data / "standby.signal").exists()
    auto = (data / "postgresql.auto.conf").read_text()
    assert "primary_conninfo" in auto and "primary_slot_name = 'hotline_replica'" in auto
    d.install_fragment(data, "replica.conf", d.overrides(pair.root, replica_port))
    pair.replica = d.start(pair.root, data, replica_port, pair.passwords["postgres"])

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
    # Failover: the operator promotes the standby (pg_ctl promote / pg_promote()).
    pair.primary.stop()
    pair.replica.cluster._pg_ctl("promote", "-w")
    with psycopg.connect(pair.url("hotline", port=replica_port), autocommit=True) as promoted:
        assert promoted.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
        promoted.execute("INSERT INTO failover_probe VALUES ('after failover')")
        assert len(promoted.execute("SELECT * FROM failover_probe").fetchall()) == 2
