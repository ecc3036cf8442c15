"""Numbered migrations on PostgreSQL: once, under an advisory lock, after a pg_dump.

The numbering is SQLite's (``migrations/NNN_*.sql``); PostgreSQL's files live
in ``migrations/postgresql/`` and start at ``013_baseline.sql`` (SQLite's
schema at 013). The version is the highest row of ``schema_migrations``.

Several front ends may start at once on one database: each takes a
session-level ``pg_advisory_lock`` before reading the version, so one
migrates and the others, once they get the lock, find nothing to do. Each
migration runs in its own transaction with its row in ``schema_migrations``.

A database newer than this code is refused, with SQLite's message. Before an
existing database is upgraded, ``pg_dump`` (when installed) writes a
custom-format dump into ``backup_dir`` (0600, password passed through the
environment, never the command line). Without ``pg_dump`` the upgrade is
refused unless the operator says a backup exists
(``HOTLINE_MIGRATE_WITHOUT_BACKUP=1``): we will not upgrade blind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..errors import InstanceError
from .migrate import available_migrations, check_not_newer, latest_version
from .pg_conn import PgConnection

KIND = "postgresql"
LOCK_KEY = 0x486F746C696E65  # "Hotline"
NO_BACKUP_ENV = "HOTLINE_MIGRATE_WITHOUT_BACKUP"
KEEP_PRE_MIGRATION = 3


def current_version(conn: PgConnection) -> int:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])


def migrate_pg(conn: PgConnection, url: str, backup_dir: Path | None,
               env: Mapping[str, str] | None = None) -> list[str]:
    """Apply pending migrations; return the names applied (empty when another did it)."""
    conn.execute("SELECT pg_advisory_lock(?)", (LOCK_KEY,))
    try:
        return _migrate_locked(conn, url, backup_dir, os.environ if env is None else env)
    finally:
        if not conn.broken:
            conn.execute("SELECT pg_advisory_unlock(?)", (LOCK_KEY,))


def _migrate_locked(conn: PgConnection, url: str, backup_dir: Path | None,
                    env: Mapping[str, str]) -> list[str]:
    version = current_version(conn)
    check_not_newer(version, kind=KIND)
    latest = latest_version(KIND)
    if version == 0:
        _check_empty(conn)
    elif version < latest:
        _backup_before(url, backup_dir, version, latest, env)
    applied = []
    for number, name, sql in available_migrations(KIND):
        if number <= version:
            continue
        conn.execute("BEGIN")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                         " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                         " applied_at TEXT NOT NULL)")
            conn.raw.execute(sql.encode())  # several statements, no parameters
            conn.execute("INSERT INTO schema_migrations (version, name, applied_at)"
                         " VALUES (?, ?, ?)",
                         (number, name, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")))
            conn.execute("COMMIT")
        except BaseException:
            if not conn.broken:
                conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


def _check_empty(conn: PgConnection) -> None:
    """Version 0 must mean an empty database, never somebody else's tables."""
    others = conn.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'"
        " ORDER BY table_name LIMIT 3").fetchall()
    if others:
        names = ", ".join(r[0] for r in others)
        raise InstanceError(f"the PostgreSQL database is not empty and has no Hotline schema "
                            f"version (tables: {names}): give Hotline a database of its own")


def _backup_before(url: str, backup_dir: Path | None, version: int, latest: int,
                   env: Mapping[str, str]) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None or backup_dir is None:
        if env.get(NO_BACKUP_ENV) == "1":
            return
        raise InstanceError(
            f"the database is at schema version {version} and this Hotline upgrades it to "
            f"{latest}, but pg_dump is not installed to take a backup first: install the "
            f"PostgreSQL client tools, or back the database up yourself and start again "
            f"with {NO_BACKUP_ENV}=1")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    dest = backup_dir / f"pre-migrate-v{version:03d}-to-v{latest:03d}-{stamp}.pgdump"
    dump_database(pg_dump, url, dest)
    prune_dumps(backup_dir)


def dump_database(pg_dump: str, url: str, dest: Path) -> Path:
    """``pg_dump --format=custom`` of ``url`` into ``dest`` (0600, fsynced, whole or nothing)."""
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    parts = urlsplit(url)
    child_env = dict(os.environ)
    if parts.password:
        child_env["PGPASSWORD"] = parts.password
        host = parts.netloc.rsplit("@", 1)[-1]
        user = parts.username or ""
        url = urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))
    try:
        argv = [pg_dump, "--format=custom", f"--file={partial}", "--dbname", url]
        done = subprocess.run(argv,  # noqa: S603 - our own argv, no shell
                              env=child_env, capture_output=True, text=True, timeout=3600,
                              check=False)
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise InstanceError(f"pg_dump failed before the migration, nothing was changed: {why}")
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return dest


def prune_dumps(backup_dir: Path, keep: int = KEEP_PRE_MIGRATION) -> list[Path]:
    ours = sorted(backup_dir.glob("pre-migrate-v*-to-v*-*.pgdump"), key=lambda p: p.name[-24:])
    removed = ours[:-keep] if keep > 0 else ours
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
