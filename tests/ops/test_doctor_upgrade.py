"""``hotline doctor`` on healthy and broken instances; upgrades back up first, downgrades refuse."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hotline.errors import InstanceError
from hotline.store import Database, initialise
from hotline.store.connection import open_sqlite
from hotline.store.migrate import _statements, available_migrations, latest_version
from tests.helpers.instance import make_instance
from tests.helpers.process import run_cli


def test_doctor_passes_a_fresh_instance(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    proc = run_cli("doctor", str(inst.root), check=False)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith("OK:")


def test_doctor_lists_every_problem_of_a_broken_instance(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    (inst.root / "secrets").chmod(0o755)
    (inst.root / "secrets" / "server-secret.json").chmod(0o644)
    (inst.root / "hotline.db").chmod(0o644)
    (inst.root / "rules" / "broken.toml").write_text("[[rule]]\nid = \n", encoding="utf-8")
    config = inst.root / "hotline.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        '# account_sid = ""', 'account_sid = "AC0123"').replace(
        '# number = ""', 'number = "555-1234"').replace(
        '# auth_token = ""', 'auth_token = "t"'), encoding="utf-8")
    proc = run_cli("doctor", str(inst.root), check=False)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1
    joined = "\n".join(lines)
    for expected in (f"{inst.root / 'secrets'}: readable by other users",
                     "server-secret.json: readable by other users",
                     "hotline.db: readable or writable by every user",
                     "twilio.account_sid: does not look like",
                     "twilio.number: '555-1234' is not in E.164",
                     "service.public_url: Twilio calls an https URL",
                     "service.public_url: a loopback address",
                     "rules: the rule set does not load"):
        assert expected in joined, (expected, lines)
    problems = [ln for ln in lines if not ln.startswith("note: the console serves libsodium.js")]
    assert len(problems) == 8, lines  # one line per problem, and the one note
    assert "Traceback" not in proc.stderr


def test_doctor_on_a_folder_that_is_no_instance(tmp_path: Path) -> None:
    proc = run_cli("doctor", str(tmp_path), check=False)
    assert proc.returncode == 1 and "not an instance folder" in proc.stdout


def _database_at(path: Path, version: int) -> None:
    conn = open_sqlite(path)
    for number, _name, sql in available_migrations():
        if number <= version:
            for statement in _statements(sql):
                conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version:d}")
    conn.execute("INSERT INTO meta (key, value) VALUES ('instance_id', 'iold')")
    conn.close()


def test_an_upgrade_backs_the_database_up_first(tmp_path: Path) -> None:
    db = tmp_path / "hotline.db"
    _database_at(db, 3)
    applied = initialise(db)
    assert applied and applied[-1].startswith(f"{latest_version():03d}")
    backups = list((tmp_path / "backups").glob("pre-migrate-v003-to-*.db"))
    assert len(backups) == 1
    assert backups[0].stat().st_mode & 0o077 == 0
    conn = sqlite3.connect(backups[0])
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    assert conn.execute("SELECT value FROM meta").fetchone()[0] == "iold"
    conn.close()
    assert initialise(db) == [] and len(list((tmp_path / "backups").iterdir())) == 1


async def test_a_downgrade_refuses_to_start(tmp_path: Path) -> None:
    db = tmp_path / "hotline.db"
    initialise(db)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(InstanceError, match="downgrade"):
        await Database(db).open()


def test_only_the_newest_pre_migration_backups_are_kept(tmp_path: Path) -> None:
    from hotline.store.migrate import prune_pre_migration_backups

    folder = tmp_path / "backups"
    folder.mkdir()
    names = [f"pre-migrate-v00{i}-to-v006-2026112{i}T000000Z.db" for i in range(1, 6)]
    for name in names:
        (folder / name).write_bytes(b"x")
    (folder / "admin-kept.db").write_bytes(b"mine")
    removed = prune_pre_migration_backups(folder)
    assert sorted(p.name for p in removed) == names[:2]
    assert sorted(p.name for p in folder.iterdir()) == sorted([*names[2:], "admin-kept.db"])


def test_a_deletion_request_from_before_the_grace_period_stays_due_at_once(
        tmp_path: Path) -> None:
    """Migration 009: reporters who asked under the old promise ("deleted soon") keep it."""
    db = tmp_path / "hotline.db"
    _database_at(db, 6)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO tips (id, ref, channel, urgency, urgency_source, status,"
                     " created_at, updated_at) VALUES ('t1', 'ABC-DEF', 'sms', 'low', 'rules',"
                     " 'new', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')")
        conn.execute("INSERT INTO deletion_requests (tip_id, requested_at, via) VALUES"
                     " ('t1', '2026-01-02T00:00:00Z', 'sms')")
    conn.close()
    initialise(db)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT tip_id, requested_at, effective_at, via, state, repeats"
                            " FROM deletion_requests").fetchall() == [
            ("t1", "2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z", "sms", "pending", 0)]
    finally:
        conn.close()
