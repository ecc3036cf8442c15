"""The PostgreSQL writer: the SQLite writer's group commit, on a psycopg connection.

Same contract as ``writer.py``: handlers submit ``fn(conn) -> T``; the thread
drains the queue (up to ``batch_max``), runs each callable in its own
SAVEPOINT inside one transaction, COMMITs once and only then resolves the
futures (``resolve_all``). A callable that raises is rolled back alone.

What PostgreSQL adds:

- **Retry on conflict.** A serialization failure or deadlock (SQLSTATE
  40001/40P01) — possible now that several front ends write to one database —
  aborts the whole batch, which is run again from the start (a few times).
- **Pipeline mode** for the jobs of a batch (``PgConnection.pipelined``):
  a statement whose answer the job does not read is sent without waiting
  for it, so a paging report's ~20 statements (savepoints included) cost the
  round trips of the few it reads back (a stamp, a RETURNING, a check), not
  one each. Each job is settled (every answer in, any error raised) before
  its RELEASE, so a failing statement still fails its own job alone; the
  pipeline ends, every answer in, before COMMIT.
- **A lost connection** (server restarted, network gone) fails every job of
  the batch with ``ServiceUnavailable`` (a clear 503), including when COMMIT
  itself was cut: nothing is acknowledged unless COMMIT returned. The next
  job opens a new connection by itself; nobody restarts the service. A
  connection found dead at BEGIN (the server restarted while we were idle)
  is replaced at once and the batch runs on the new one: no job had run.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from ..errors import ServiceUnavailable
from ..logging import get_logger
from .handoff import Job, WorkQueue, resolve_all
from .pg_conn import PgConnection, connect, connect_or_explain
from .writer import CommitObserver, WriterStats

T = TypeVar("T")
RETRY_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
BATCH_RETRIES = 5
UNAVAILABLE = "the database is unavailable, please try again"


class _Retry(Exception):
    """The batch met a serialization failure or deadlock: run it again."""


class _Stale(Exception):
    """The connection was found dead at BEGIN, before any job ran: reconnect, run again."""


def is_retryable(e: BaseException) -> bool:
    return isinstance(e, psycopg.Error) and getattr(e, "sqlstate", None) in RETRY_SQLSTATES


BUSY_SQLSTATES = frozenset({"57014", "55P03"})  # query_canceled (statement_timeout), lock_not_available
BUSY = "the database is busy, please try again"


def as_busy(e: BaseException) -> BaseException:
    """A statement the server gave up on for load (timeout, no lock, resources) is a 503."""
    state = str(getattr(e, "sqlstate", "") or "")
    if isinstance(e, psycopg.Error) and (state in BUSY_SQLSTATES or state.startswith("53")):
        return ServiceUnavailable(BUSY)
    return e


def is_connection_loss(e: BaseException, conn: PgConnection | None) -> bool:
    """The connection (not the statement) failed: the server went away or the link broke."""
    if conn is not None and conn.broken:
        return True
    return isinstance(e, psycopg.OperationalError) and getattr(e, "sqlstate", None) in (
        None, "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004")


class PgWriter:
    def __init__(self, url: str, *, batch_max: int = 256, name: str = "writer",
                 observer: CommitObserver | None = None,
                 on_open: Callable[[PgConnection], None] | None = None) -> None:
        self._url = url
        self._on_open = on_open
        self.observer = observer
        self._batch_max = batch_max
        self._jobs = WorkQueue()
        self._thread = threading.Thread(target=self._run, name=f"hotline-pg-{name}", daemon=True)
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._conn: PgConnection | None = None
        self.stats = WriterStats()
        self.reconnects = 0

    def start(self) -> None:
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            if isinstance(self._start_error, psycopg.OperationalError):  # said plainly
                connect_or_explain(self._url, "hotline-writer").close()
            raise self._start_error

    async def run(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn`` in the next group commit; return once COMMIT returned."""
        return await self._jobs.job(fn)

    async def run_bare(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn`` alone, outside a transaction (autocommit)."""
        return await self._jobs.job(fn, bare=True)

    def alive(self) -> bool:
        return self._thread.is_alive() and not self._jobs.closed

    def queue_depth(self) -> int:
        return self._jobs.depth()

    def close(self) -> None:
        if self._jobs.stop():
            self._thread.join()

    # -- writer thread -------------------------------------------------------

    def _connection(self) -> PgConnection:
        """The open connection, reconnecting if the last one was lost."""
        if self._conn is not None and not self._conn.broken:
            return self._conn
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
            self.reconnects += 1
        conn = connect(self._url, application_name="hotline-writer")
        if self._on_open is not None:
            self._on_open(conn)
        self._conn = conn
        return conn

    def _run(self) -> None:
        try:
            self._connection()
        except BaseException as e:  # reported to start()
            self._start_error = e
            self._started.set()
            return
        self._started.set()
        try:
            while True:
                batch, bare, stop = self._jobs.take_jobs(self._batch_max)
                if batch:
                    self._commit_batch(batch)
                if bare is not None:
                    self._run_bare(bare)
                if stop:
                    return
        finally:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()

    def _unavailable(self, e: BaseException) -> ServiceUnavailable:
        get_logger("hotline.store").warning("store.connection_lost", error=type(e).__name__)
        err = ServiceUnavailable(UNAVAILABLE)
        err.__cause__ = None
        return err

    def _run_bare(self, job: Job) -> None:
        conn: PgConnection | None = None
        try:
            conn = self._connection()
            result: tuple[Job, bool, Any] = (job, True, job.fn(conn))
        except Exception as e:
            if is_connection_loss(e, conn):
                result = (job, False, self._unavailable(e))
            else:
                if conn is not None and conn.in_transaction:
                    with contextlib.suppress(Exception):
                        conn.execute("ROLLBACK")
                result = (job, False, e)
        resolve_all([result])

    def _commit_batch(self, batch: list[Job]) -> None:
        started = time.perf_counter()
        for attempt in range(BATCH_RETRIES + 1):
            conn: PgConnection | None = None
            try:
                conn = self._connection()
                results = self._attempt(conn, batch)
                break
            except _Stale:
                if attempt == BATCH_RETRIES:
                    resolve_all([(job, False, ServiceUnavailable(UNAVAILABLE)) for job in batch])
                    return
                continue  # _connection() opens a new one
            except _Retry:
                self._rollback(conn)
                if attempt == BATCH_RETRIES:
                    resolve_all([(job, False, ServiceUnavailable(BUSY)) for job in batch])
                    return
                time.sleep(0.01 * (attempt + 1))
            except BaseException as e:  # the commit failed: nobody in this batch is saved
                if is_connection_loss(e, conn) or is_retryable(e):
                    failure: BaseException = self._unavailable(e)
                else:
                    failure = e
                self._rollback(conn)
                resolve_all([(job, False, failure) for job in batch])
                return
        elapsed = time.perf_counter() - started
        self.stats.batches += 1
        self.stats.jobs += len(batch)
        self.stats.last_commit_ms = elapsed * 1000
        resolve_all(results)
        if self.observer is not None:
            with contextlib.suppress(Exception):
                self.observer(elapsed, len(batch))

    @staticmethod
    def _rollback(conn: PgConnection | None) -> None:
        if conn is not None and not conn.broken and conn.in_transaction:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")

    def _attempt(self, conn: PgConnection, batch: list[Job]) -> list[tuple[Job, bool, Any]]:
        results: list[tuple[Job, bool, Any]] = []
        try:
            conn.execute("BEGIN")
        except psycopg.OperationalError as e:
            if conn.broken:
                raise _Stale from e
            raise
        with conn.pipelined():
            for job in batch:
                results.append(self._run_job(conn, job))
        try:
            conn.execute("COMMIT")
        except psycopg.Error as e:
            if is_retryable(e):
                raise _Retry from e
            raise
        return results

    @staticmethod
    def _run_job(conn: PgConnection, job: Job) -> tuple[Job, bool, Any]:
        conn.execute("SAVEPOINT job")
        try:
            value = job.fn(conn)
            conn.settle()  # this job's answers in: a statement's error is raised here, not later
        except Exception as e:
            if is_retryable(e):
                raise _Retry from e
            if conn.broken:
                raise
            conn.execute("ROLLBACK TO SAVEPOINT job")
            conn.execute("RELEASE SAVEPOINT job")
            return job, False, as_busy(e)
        conn.execute("RELEASE SAVEPOINT job")
        return job, True, value
