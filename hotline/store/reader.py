"""The reader: one thread, one read-only-by-use connection, one hop per query.

aiosqlite hands every query to its thread three times (execute, fetch, close
the cursor), each a wake-up of the event loop and a turn at the GIL. Here a
query is one job: the thread runs it, fetches every row and settles the
caller's future with one ``call_soon_threadsafe``; queries that queued up
meanwhile are answered with one wake-up per batch. Reads see what is
committed (WAL); they never write, so they never wait on the writer's fsync.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ServiceUnavailable
from .connection import open_sqlite
from .writer import resolve_all

_STOP = object()
_BATCH = 64


@dataclass
class _Query:
    sql: str
    params: tuple[Any, ...]
    future: asyncio.Future[list[sqlite3.Row]]
    loop: asyncio.AbstractEventLoop


class Reader:
    def __init__(self, path: Path, *, name: str = "reader") -> None:
        self._path = path
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"hotline-{name}", daemon=True)
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._closed = False

    def start(self) -> None:
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            raise self._start_error

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        if self._closed:
            raise ServiceUnavailable("the service is shutting down")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[sqlite3.Row]] = loop.create_future()
        self._queue.put(_Query(sql, params, future, loop))
        return await future

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
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
                batch = [self._queue.get()]
                while len(batch) < _BATCH and batch[-1] is not _STOP:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                done = [self._answer(conn, q) for q in batch if q is not _STOP]
                resolve_all(done)
                if batch[-1] is _STOP:
                    return
        finally:
            conn.close()

    @staticmethod
    def _answer(conn: sqlite3.Connection, q: _Query) -> tuple[_Query, bool, Any]:
        try:
            return q, True, conn.execute(q.sql, q.params).fetchall()
        except Exception as e:
            return q, False, e


