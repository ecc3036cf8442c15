"""One short write transaction on an instance's database, for CLI verbs.

Safe while the service runs: SQLite's lock serialises it with the service's
writer (``busy_timeout`` waits), and it never touches the key store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InstanceError
from ..instance import InstancePaths
from ..store import initialise
from ..store.connection import open_sqlite


@contextmanager
def transaction(root: Path) -> Iterator[sqlite3.Connection]:
    paths = InstancePaths(root)
    if not paths.database.exists():
        raise InstanceError(f"{root}: not an instance (run 'hotline init' first)")
    initialise(paths.database)
    conn = open_sqlite(paths.database)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()
