"""The PostgreSQL store: the same seam as ``database.Database``, on psycopg 3.

One writer thread (group commit, ``pg_writer.py``) and a couple of reader
threads (``pg_reader.py``) per front end; any number of front ends may share
the database. Schema changes go through ``pg_migrate.py`` under an advisory
lock, so front ends starting together migrate once.

SQLite-only maintenance has no counterpart to run here: PostgreSQL's
autovacuum reclaims dead rows, checkpoints are the server's business, and
``secure_delete`` does not exist (deleted rows linger in heap pages and WAL
until vacuumed and recycled: on PostgreSQL crypto-shredding — the per-tip key
gone from the key store — is what makes a deleted report unreadable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from .pg_conn import PgConnection, connect_or_explain
from .pg_migrate import migrate_pg
from .pg_reader import PgReader
from .pg_writer import PgWriter
from .writer import CommitObserver

T = TypeVar("T")


def initialise_pg(url: str, backup_dir: Path | None = None) -> list[str]:
    """Create or upgrade the schema on ``url`` (safe from several processes at once)."""
    conn = connect_or_explain(url, "hotline-migrate", statement_timeout_s=0)
    try:
        return migrate_pg(conn, url, backup_dir)
    finally:
        conn.close()


class PgDatabase:
    kind = "postgresql"

    def __init__(self, url: str, *, batch_max: int = 256, backup_dir: Path | None = None,
                 observer: CommitObserver | None = None, reader_threads: int = 2,
                 migrate: bool = True) -> None:
        self.url = url
        self.migrate = migrate  # False: a database with its own schema (the key store's)
        self.backup_dir = backup_dir
        self.writer = PgWriter(url, batch_max=batch_max, observer=observer)
        self._reader_threads = reader_threads
        self._reader: PgReader | None = None

    async def open(self) -> None:
        if self.migrate:
            initialise_pg(self.url, self.backup_dir)
        self.writer.start()
        self._reader = PgReader(self.url, threads=self._reader_threads)
        self._reader.start()

    async def close(self) -> None:
        self.writer.close()
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def write(self, fn: Callable[[PgConnection], T]) -> T:
        return await self.writer.run(fn)

    async def maintain(self, fn: Callable[[PgConnection], T]) -> T:
        """Run ``fn`` on the writer's connection outside any transaction (autocommit)."""
        return await self.writer.run_bare(fn)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        assert self._reader is not None, "database not open"
        return await self._reader.fetchall(sql, tuple(params))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def ping(self) -> bool:
        try:
            await self.fetchone("SELECT 1")
            return True
        except Exception:
            return False
