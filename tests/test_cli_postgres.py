"""An instance on PostgreSQL through the real CLI: init keeps the password out of the
config, every command finds the database, SQLite-only verbs say what to use instead."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.helpers import store
from tests.helpers.process import run_cli


def test_init_names_the_database_and_keeps_the_password_secret(tmp_path: Path,
                                                               pg_url: str) -> None:
    root = tmp_path / "inst"
    done = run_cli("init", str(root), "--recovery-key-out", str(tmp_path / "recovery.key"),
                   HOTLINE_DATABASE_URL=pg_url)
    password = pg_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert password not in done.stdout and "PostgreSQL" in done.stdout
    config = (root / "hotline.toml").read_text(encoding="utf-8")
    assert password not in config
    assert 'database = "postgresql://postgres@' in config
    secret = root / "secrets" / "database-url"
    assert secret.read_text(encoding="utf-8").strip() == pg_url
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert not (root / "hotline.db").exists()
    # Without the environment variable every command finds the database from the folder.
    run_cli("keygen", "--out", str(tmp_path / "alice.key"), "--name", "alice")
    run_cli("advocate", "add", str(root), "--name", "alice", "--pubkey",
            str(tmp_path / "alice.key.pub"), "--role", "admin")
    assert store.query(root, "SELECT name, role FROM advocates") == [("alice", "admin")]
    # The instance is healthy; the suite's throwaway server is not a production one
    # (fsync and full_page_writes off, a superuser URL), and doctor says only that.
    doctor = run_cli("doctor", str(root), check=False)
    problems = [ln for ln in doctor.stdout.splitlines() if not ln.startswith("note:")]
    assert doctor.returncode == 1 and problems and all(
        ln.startswith(("database: fsync is off", "database: full_page_writes is off",
                       "database: the main role 'postgres' is a superuser"))
        for ln in problems), doctor.stdout
    backup = run_cli("backup", str(root), str(tmp_path / "b.pgdump"))
    assert "pg_dump" in backup.stdout and (tmp_path / "b.pgdump").exists()


def test_a_second_instance_cannot_take_a_database_in_use(tmp_path: Path, pg_url: str) -> None:
    run_cli("init", str(tmp_path / "one"), "--recovery-key-out", str(tmp_path / "r1.key"),
            HOTLINE_DATABASE_URL=pg_url)
    second = run_cli("init", str(tmp_path / "two"), "--recovery-key-out",
                     str(tmp_path / "r2.key"), check=False, HOTLINE_DATABASE_URL=pg_url)
    assert second.returncode != 0 and "already holds an instance" in second.stderr
    assert "Traceback" not in second.stderr


def test_doctor_says_when_the_database_cannot_be_reached(tmp_path: Path, pg_url: str) -> None:
    root = tmp_path / "inst"
    run_cli("init", str(root), "--recovery-key-out", str(tmp_path / "recovery.key"),
            HOTLINE_DATABASE_URL=pg_url)
    wrong = pg_url.replace(pg_url.split("@", 1)[0].split(":")[-1], "not-the-password")
    doctor = run_cli("doctor", str(root), check=False, HOTLINE_DATABASE_URL=wrong)
    assert doctor.returncode != 0
    assert "cannot connect" in doctor.stdout and "not-the-password" not in doctor.stdout


def test_serve_says_plainly_when_the_database_cannot_be_reached(tmp_path: Path,
                                                                pg_url: str) -> None:
    root = tmp_path / "inst"
    run_cli("init", str(root), "--recovery-key-out", str(tmp_path / "recovery.key"),
            HOTLINE_DATABASE_URL=pg_url)
    wrong = pg_url.replace(pg_url.split("@", 1)[0].split(":")[-1], "not-the-password")
    for args in (("serve", str(root)), ("advocate", "list", str(root))):
        proc = run_cli(*args, check=False, HOTLINE_DATABASE_URL=wrong)
        assert proc.returncode != 0, args
        assert "cannot connect to PostgreSQL" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and "not-the-password" not in proc.stderr
