"""PostgreSQL readers: a few threads, each with one autocommit connection.

Like ``reader.py``: a query is one job, its rows are fetched on the thread
and the caller's future is settled through ``resolve_all``. Each SELECT runs
in its own autocommit statement, so it sees what is committed. A lost
connection answers ``ServiceUnavailable`` (503) and the next query
reconnects by itself.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from ..errors import ServiceUnavailable
from .handoff import Query, WorkQueue, resolve_all
from .pg_conn import PgConnection, connect, connect_or_explain
from .pg_writer import UNAVAILABLE, as_busy, is_connection_loss

_BATCH = 64


class PgReader:
    def __init__(self, url: str, *, threads: int = 2, name: str = "reader") -> None:
        self._url = url
        self._queries = WorkQueue()
        self._threads = [threading.Thread(target=self._run, name=f"hotline-pg-{name}-{i}",
                                          daemon=True) for i in range(threads)]

    def start(self) -> None:
        # Connect once up front so a wrong URL or password fails at start-up, clearly.
        connect_or_explain(self._url, "hotline-reader").close()
        for t in self._threads:
            t.start()

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return await self._queries.query(sql, params)

    def close(self) -> None:
        if self._queries.stop(len(self._threads)):
            for t in self._threads:
                t.join()

    def _run(self) -> None:
        conn: PgConnection | None = None
        try:
            while True:
                batch, stop = self._queries.take_queries(_BATCH)
                done = []
                for q in batch:
                    conn, answer = self._answer(conn, q)
                    done.append(answer)
                resolve_all(done)
                if stop:
                    return
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()

    def _answer(self, conn: PgConnection | None,
                q: Query) -> tuple[PgConnection | None, tuple[Query, bool, Any]]:
        """Run one query; a connection that died while idle is replaced and asked again
        (reads change nothing, so asking twice is safe)."""
        for fresh in (False, True):
            try:
                if conn is None or conn.broken or fresh:
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            conn.close()
                    conn = None
                    conn = connect(self._url, application_name="hotline-reader")
                    fresh = True
                return conn, (q, True, conn.execute(q.sql, q.params).fetchall())
            except Exception as e:
                if conn is not None and not is_connection_loss(e, conn):
                    return conn, (q, False, as_busy(e))
                if fresh:  # a new connection failed too: the server is down
                    return conn, (q, False, ServiceUnavailable(UNAVAILABLE))
        raise AssertionError("unreachable")
