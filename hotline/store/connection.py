"""How every SQLite connection of Hotline is opened: WAL, full sync, secure delete."""

from __future__ import annotations

import sqlite3
from pathlib import Path

PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",  # a commit survives power loss, not just a crash
    "PRAGMA foreign_keys = ON",
    "PRAGMA secure_delete = ON",  # freed pages are zeroed: deleted envelopes do not linger
    "PRAGMA busy_timeout = 10000",
)


def open_sqlite(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=check_same_thread)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn
