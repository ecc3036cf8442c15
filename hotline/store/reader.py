"""The reader: one thread, one read-only-by-use connection, one hop per query.

aiosqlite hands every query to its thread three times (execute, fetch, close
the cursor), each a wake-up of the event loop and a turn at the GIL. Here a
query is one job: the thread runs it, fetches every row and settles the
caller's future with one ``call_soon_threadsafe``; queries that queued up
meanwhile are answered with one wake-up per batch. Reads see what is
committed (WAL); they never write, so they never wait on the writer's fsync.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from .connection import open_sqlite
from .handoff import Query, WorkQueue, resolve_all

_BATCH = 64


class Reader:
    def __init__(self, path: Path, *, name: str = "reader") -> None:
        self._path = path
        self._queries = WorkQueue()
        self._thread = threading.Thread(target=self._run, name=f"hotline-{name}", daemon=True)
        self._started = threading.Event()
        self._start_error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            raise self._start_error

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return await self._queries.query(sql, params)

    def close(self) -> None:
        if self._queries.stop():
            self._thread.join()

    def _run(self) -> None:
        try:
            conn = open_sqlite(self._path)
            conn.row_factory = sqlite3.Row
        except BaseException as e:  # reported to start()
            self._start_error = e
            self._started.set()
            return
        self._started.set()
        try:
            while True:
                batch, stop = self._queries.take_queries(_BATCH)
                done = [self._answer(conn, q) for q in batch]
                resolve_all(done)
                if stop:
                    return
        finally:
            conn.close()

    @staticmethod
    def _answer(conn: sqlite3.Connection, q: Query) -> tuple[Query, bool, Any]:
        try:
            return q, True, conn.execute(q.sql, q.params).fetchall()
        except Exception as e:
            return q, False, e


