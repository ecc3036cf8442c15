"""Where the key store's rows live: the small interface every engine implements.

The interface is the store seam's shape (``write(fn)``, ``maintain(fn)``,
``fetchall``, ``fetchone``, ``ping``, ``kind``) so the key store runs on either
engine: the SQLite one (``sqlite_db.py``: its own file ``secrets/keystore.db``, its own
group-commit writer and reader thread), a PostgreSQL one in its own database
with its own role. Write callables are ``fn(conn) -> T`` run in one
transaction; everything the key store says in SQL is portable (``?``
placeholders, ``ON CONFLICT``, no rowid).

``rotation_lock`` serialises rotations across front ends (a lock file on
SQLite, whose front ends share one machine; an advisory lock on PostgreSQL).
Correctness never rests on it alone: every rotation step is conditional.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from ..errors import HotlineError

T = TypeVar("T")
CHECKPOINT_TRIES = 20


class RotationBusy(HotlineError):
    """Another front end (or the CLI) is rotating right now."""


class KeyDb(Protocol):
    kind: str

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def write(self, fn: Callable[[Any], T]) -> T: ...
    async def maintain(self, fn: Callable[[Any], T]) -> T: ...
    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]: ...
    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Any | None: ...
    async def ping(self) -> bool: ...
    def rotation_lock(self, *, wait: bool) -> contextlib.AbstractAsyncContextManager[None]: ...


def checkpoint_truncate(conn: sqlite3.Connection) -> None:
    """Copy the WAL into the file and empty it; retry while a reader holds a snapshot."""
    for _ in range(CHECKPOINT_TRIES):
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if not busy:
            return
        time.sleep(0.05)
    raise OSError("the WAL checkpoint stayed busy: a reader held the database too long")
