"""Numbered SQL migrations, applied in order, each in its own transaction.

A database newer than this code is refused: running old code on a new schema
could silently drop what newer code relies on.
"""

from __future__ import annotations

import sqlite3
from importlib import resources

from ..errors import InstanceError


def available_migrations() -> list[tuple[int, str, str]]:
    files = resources.files(__package__).joinpath("migrations")
    found = []
    for entry in files.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations; return the names applied."""
    migrations = available_migrations()
    latest = migrations[-1][0] if migrations else 0
    version = current_version(conn)
    if version > latest:
        raise InstanceError(
            f"the database is at schema version {version}, newer than this Hotline "
            f"({latest}); upgrade Hotline instead of downgrading"
        )
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
    """Split a migration into statements (our files hold no triggers or string semicolons)."""
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
