"""Numbered SQL migrations, applied in order, each in its own transaction.

A database newer than this code is refused: running old code on a new schema
could silently drop what newer code relies on. Before an existing database is
upgraded, a consistent copy is taken (SQLite backup API) into ``backup_dir``:
a migration that goes wrong, or an upgrade an administrator wants to undo
with the old release, has a way back. The copy holds what the database holds
(envelopes, never keys), like every backup.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from ..errors import InstanceError


def available_migrations(kind: str = "sqlite") -> list[tuple[int, str, str]]:
    """``(number, file name, SQL)`` in order; PostgreSQL's live in ``migrations/postgresql/``."""
    files = resources.files(__package__).joinpath("migrations")
    if kind == "postgresql":
        files = files.joinpath("postgresql")
    found = []
    for entry in files.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def latest_version(kind: str = "sqlite") -> int:
    migrations = available_migrations(kind)
    return migrations[-1][0] if migrations else 0


def check_not_newer(version: int, where: str = "the database", kind: str = "sqlite") -> None:
    latest = latest_version(kind)
    if version > latest:
        raise InstanceError(
            f"{where} is at schema version {version}, newer than this Hotline "
            f"({latest}): this is a downgrade, which is refused. Install the newer Hotline "
            f"again, or restore a pre-migration backup with the matching older release"
        )


def migrate(conn: sqlite3.Connection, backup_dir: Path | None = None) -> list[str]:
    """Apply pending migrations (after a backup into ``backup_dir``); return the names applied."""
    migrations = available_migrations()
    latest = latest_version()
    version = current_version(conn)
    check_not_newer(version)
    if version == 0:
        _enable_incremental_vacuum(conn)
    elif version < latest and backup_dir is not None:
        backup_database(conn, backup_dir / _backup_name(version, latest))
        prune_pre_migration_backups(backup_dir)
    applied = []
    for number, name, sql in migrations:
        if number <= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number:d}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements.

    Pieces between semicolons are joined until SQLite calls them complete, so
    a semicolon inside a comment or a string does not cut a statement. (Our
    files hold no triggers.)
    """
    statements, buf = [], ""
    for piece in sql.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if _has_code(buf):
                statements.append(buf.strip())
            buf = ""
    if _has_code(buf.rstrip(";")):
        raise InstanceError("a migration ends with an incomplete statement")
    return statements


def _has_code(text: str) -> bool:
    lines = (ln.split("--", 1)[0].strip() for ln in text.splitlines())
    return any(ln and ln != ";" for ln in lines)


def _enable_incremental_vacuum(conn: sqlite3.Connection) -> None:
    """A new database frees deleted pages in place (``PRAGMA incremental_vacuum``).

    SQLite only switches the mode through a VACUUM once WAL is on; on an empty
    file that costs nothing.
    """
    if int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]) != 2:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("VACUUM")


KEEP_PRE_MIGRATION = 3


def prune_pre_migration_backups(backup_dir: Path, keep: int = KEEP_PRE_MIGRATION) -> list[Path]:
    """Keep the newest ``keep`` automatic backups; older ones only use disk.

    Names sort by time (UTC stamp). Only our own ``pre-migrate-*.db`` files are
    touched, never an administrator's backups kept in the same folder.
    """
    ours = sorted(backup_dir.glob("pre-migrate-v*-to-v*-*.db"), key=lambda p: p.name[-20:])
    removed = ours[:-keep] if keep > 0 else ours
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def _backup_name(version: int, latest: int) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"pre-migrate-v{version:03d}-to-v{latest:03d}-{stamp}.db"


def backup_database(conn: sqlite3.Connection, dest: Path) -> Path:
    """A consistent online copy of ``conn``'s database at ``dest`` (0600, one file, fsynced).

    The SQLite backup API copies page by page under a read snapshot, so the
    service may keep writing. The copy is switched to a rollback journal so it
    is a single self-contained file.
    """
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        out = sqlite3.connect(partial, isolation_level=None)
        try:
            conn.backup(out)
            out.execute("PRAGMA journal_mode = DELETE")
        finally:
            out.close()
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return dest
