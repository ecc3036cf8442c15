"""The SQLite store: a single writer for changes, a reader thread for reads.

It implements ``seam.Store``; ``postgres.PgDatabase`` is the other
implementation. Channels and intake only see the seam.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from .connection import open_sqlite
from .loop_writer import LoopWriter
from .migrate import migrate
from .reader import Reader
from .seam import DB_FILENAME
from .stamps import transaction_hook, watch_directory
from .writer import CommitObserver

T = TypeVar("T")
__all__ = ["DB_FILENAME", "Database", "initialise"]


def default_backup_dir(path: Path) -> Path:
    """Where pre-migration backups go unless told: ``backups/`` beside the database."""
    return path.parent / "backups"


def initialise(path: Path, backup_dir: Path | None = None) -> list[str]:
    """Create or upgrade the schema synchronously (CLI and start-up).

    An existing database is backed up into ``backup_dir`` (default
    ``backups/`` beside it) before any migration runs.
    """
    if not path.exists():  # owner-only from the first byte; SQLite gives its WAL the same mode
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    conn = open_sqlite(path)
    try:
        return migrate(conn, backup_dir or default_backup_dir(path))
    finally:
        conn.close()


class Database:
    """The SQLite store (the embedded default), one of the two behind ``seam.Store``."""

    kind = "sqlite"

    def __init__(self, path: Path, *, batch_max: int = 256, backup_dir: Path | None = None,
                 observer: CommitObserver | None = None, migrate: bool = True) -> None:
        self.path = path
        self.migrate = migrate  # False: a database with its own schema
        self.backup_dir = backup_dir
        self.writer = LoopWriter(path, batch_max=batch_max, observer=observer,
                                 on_open=watch_directory if migrate else None,
                                 on_transaction=transaction_hook if migrate else None)
        self._reader: Reader | None = None

    async def open(self) -> None:
        if self.migrate:
            initialise(self.path, self.backup_dir)
        self.writer.start()
        self._reader = Reader(self.path)
        self._reader.start()

    async def close(self) -> None:
        await self.writer.aclose()
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self.writer.run(fn)

    async def maintain(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the writer's connection outside any transaction (VACUUM, checkpoints)."""
        return await self.writer.run_bare(fn)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        assert self._reader is not None, "database not open"
        return await self._reader.fetchall(sql, tuple(params))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def ping(self) -> bool:
        try:
            await self.fetchone("SELECT 1")
            return True
        except Exception:
            return False
