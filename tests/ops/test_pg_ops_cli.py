"""``hotline backup / restore / doctor`` on a PostgreSQL instance, end to end through the CLI.

Real instance (``hotline init --database``), real tips through the intake,
the CLI as a separate process; after the restore the recovery key opens
every message again (``hotline recover``), so what came back is whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.helpers.instance import make_instance
from tests.helpers.process import run_cli
from tests.ops.helpers import opened, web_tip


async def _post_tips(root: Path, texts: list[str]) -> None:
    async with opened(root) as s:
        for text in texts:
            await web_tip(s, text)


def _tips(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM tips").fetchone()
    assert row is not None
    return int(row[0])


async def test_backup_restore_doctor_journey_on_postgresql(pg_cluster, pg_url: str,
                                                           tmp_path: Path) -> None:
    inst = make_instance(tmp_path, database=pg_url)
    await _post_tips(inst.root, ["someone is held at the farm on route 9", "second report"])

    out = run_cli("backup", str(inst.root)).stdout
    dumps = sorted((inst.root / "backups").glob("backup-*.pgdump"))
    assert len(dumps) == 1 and str(dumps[0]) in out
    assert "Backed up 2 tips (schema v" in out and "key store and secrets/ are not in it" in out
    assert dumps[0].stat().st_mode & 0o077 == 0
    named = tmp_path / "named.pgdump"
    run_cli("backup", str(inst.root), str(named))
    again = run_cli("backup", str(inst.root), str(named), check=False)
    assert again.returncode != 0 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr

    # Disaster: the database is gone; a new, empty one takes its place.
    fresh = pg_cluster.new_database()
    done = run_cli("restore", str(inst.root), str(dumps[0]), HOTLINE_DATABASE_URL=fresh).stdout
    assert f"Restored instance {inst.instance_id}: 2 tips" in done
    assert _tips(fresh) == 2
    # ...and what came back opens: the recovery key reads every message of both tips.
    with psycopg.connect(fresh) as conn:
        tip_ids = [str(r[0]) for r in conn.execute("SELECT id FROM tips").fetchall()]
    recovered = json.loads(run_cli("recover", str(inst.root), "--recovery-key",
                                   str(tmp_path / "recovery.key"), "--to", "bob", "--json",
                                   *[a for tip in tip_ids for a in ("--tip", tip)],
                                   HOTLINE_DATABASE_URL=fresh).stdout)
    assert sorted(recovered["tips"]) == sorted(tip_ids) and recovered["messages"] == 2
    assert recovered["skipped"] == 0

    # Restoring over a database with content needs --replace, which keeps what it replaces.
    refused = run_cli("restore", str(inst.root), str(named), check=False)
    assert refused.returncode != 0 and "--replace" in refused.stderr
    assert "Traceback" not in refused.stderr
    await _post_tips(inst.root, ["a third, after the backup"])
    replaced = run_cli("restore", str(inst.root), str(named), "--replace").stdout
    assert "2 tips" in replaced and "before-restore-" in replaced
    assert _tips(pg_url) == 2
    kept = sorted((inst.root / "backups").glob("before-restore-*.pgdump"))
    assert len(kept) == 1
    # The kept dump holds the third tip: nothing the restore replaced is lost.
    third = pg_cluster.new_database()
    run_cli("restore", str(inst.root), str(kept[0]), HOTLINE_DATABASE_URL=third)
    assert _tips(third) == 3


def test_doctor_on_postgresql_names_the_database_problems(pg_cluster, pg_url: str,
                                                         tmp_path: Path) -> None:
    inst = make_instance(tmp_path, database=pg_url)
    report = run_cli("doctor", str(inst.root), "--json", check=False)
    assert report.returncode == 1
    doc = json.loads(report.stdout)
    # The suite's cluster runs without fsync, as a superuser: doctor says so.
    assert any("fsync is off" in p for p in doc["problems"])
    assert any("is a superuser" in p for p in doc["problems"])
    # The SQLite checks of hotline.db are not applied to a PostgreSQL instance.
    assert not any("hotline.db" in p for p in doc["problems"])
    assert any(n.startswith("database: PostgreSQL ") for n in doc["notes"])
    text = run_cli("doctor", str(inst.root), "--replica-url", pg_url, check=False)
    assert "replica: 127.0.0.1:" in text.stdout and "is not a standby" in text.stdout
    assert "note: database: PostgreSQL" in text.stdout

    # docs/deploy.md gives front ends both database machines with
    # target_session_attrs=read-write; pg_dump and doctor take that URL as it is.
    hostport = f"127.0.0.1:{pg_cluster.port}"
    both = pg_url.replace(hostport, f"{hostport},{hostport}") + "?target_session_attrs=read-write"
    assert both.count("127.0.0.1") == 2
    out = run_cli("backup", str(inst.root), str(tmp_path / "b.pgdump"),
                  HOTLINE_DATABASE_URL=both).stdout
    assert "Backed up 0 tips" in out
    doctor = run_cli("doctor", str(inst.root), check=False, HOTLINE_DATABASE_URL=both)
    assert "note: database: PostgreSQL" in doctor.stdout and "cannot" not in doctor.stdout


def test_unreachable_database_and_missing_pg_dump_are_one_line(pg_cluster, pg_url: str,
                                                               tmp_path: Path) -> None:
    inst = make_instance(tmp_path, database=pg_url)
    down = pg_cluster.url("x", password="pw-never-printed").replace(f":{pg_cluster.port}/", ":1/")
    for verb, says in ((["backup", str(inst.root)], "cannot reach the database 'x' on 127.0.0.1:1"),
                       (["doctor", str(inst.root)], "cannot connect")):
        done = run_cli(*verb, check=False, HOTLINE_DATABASE_URL=down)
        text = done.stdout + done.stderr
        assert done.returncode != 0 and "Traceback" not in text
        assert says in text and "pw-never-printed" not in text
        assert len([ln for ln in text.splitlines() if "127.0.0.1:1" in ln]) == 1  # said once
    empty = tmp_path / "no-pg-tools"
    empty.mkdir()
    done = run_cli("backup", str(inst.root), check=False, HOTLINE_PG_BINDIR=str(empty))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "pg_dump not found in" in done.stderr
    assert not list((inst.root / "backups").glob("*.pgdump*"))


def test_restore_on_postgresql_refuses_secrets_flags_clearly(pg_url: str,
                                                             tmp_path: Path) -> None:
    inst = make_instance(tmp_path, database=pg_url)
    dump = tmp_path / "d.pgdump"
    run_cli("backup", str(inst.root), str(dump))
    for flag in ("--secrets", "--recovery-key"):
        done = run_cli("restore", str(inst.root), str(dump), flag, str(tmp_path / "x"),
                       check=False)
        assert done.returncode != 0 and "main database only" in done.stderr
        assert "Traceback" not in done.stderr


def test_sqlite_backup_without_a_file_name_goes_to_the_backups_folder(tmp_path: Path) -> None:
    inst = make_instance(tmp_path, database="sqlite")
    out = run_cli("backup", str(inst.root)).stdout
    made = sorted((inst.root / "backups").glob("backup-*.db"))
    assert len(made) == 1 and str(made[0]) in out
    refused = run_cli("restore", str(inst.root), str(made[0]), "--replace", check=False)
    assert refused.returncode != 0 and "--replace is for PostgreSQL" in refused.stderr


def test_doctor_checks_the_instances_own_key_store_without_being_told(
        pg_cluster, pg_url: str, tmp_path: Path) -> None:
    """An instance made with its key store on PostgreSQL: doctor finds that URL itself.
    The suite's cluster gives both the same superuser, which is what doctor must catch."""
    root = tmp_path / "inst"
    keys = pg_cluster.new_database()
    run_cli("init", str(root), "--recovery-key-out", str(tmp_path / "recovery.key"),
            HOTLINE_DATABASE_URL=pg_url, HOTLINE_KEYSTORE_URL=keys)
    doc = json.loads(run_cli("doctor", str(root), "--json", check=False).stdout)
    assert "key store: it uses the main role 'postgres'; give it a role of its own, which the " \
           "main role is not" in doc["problems"]
    assert any(p.startswith("key store: the main role 'postgres' can read it")
               for p in doc["problems"])
    assert any("on the main database's PostgreSQL cluster" in n for n in doc["notes"])
    assert not any("no PostgreSQL key store URL given" in n for n in doc["notes"])
