"""The single writer: one thread, one connection, commits in groups.

Handlers submit plain ``fn(conn) -> T`` callables and await their own future.
The writer drains whatever is queued (up to ``batch_max``), runs each callable
in one transaction, commits once (``synchronous=FULL`` so the commit is on
disk), and only then resolves the futures. A callable that raises is rolled
back alone; the others in its batch still commit. If the commit itself fails,
every future in the batch fails: nobody is told "saved" for something that is
not.

Savepoints only where a job can fail on its own: a batch of one job has none
(a failure rolls the whole transaction back: nothing else is in it), and in a
larger batch each job opens a ``SAVEPOINT`` that is never released (COMMIT
releases them all; ``ROLLBACK TO`` the latest one undoes just the failed
job). Every statement on this thread is a GIL hand-off the event loop pays
for, and under load each job's ``RELEASE`` was one per report.

Maintenance that SQLite refuses inside a transaction (``wal_checkpoint``,
``VACUUM``) goes through ``run_bare``: the writer commits what came before it,
runs it alone on the same connection, then carries on. Keeping it on the one
writer means no second connection ever competes for the write lock.

An optional ``observer(seconds, jobs)`` hears about every commit (metrics),
so the store never imports the code that watches it.

Why a thread and not aiosqlite: a batch of N callables should cost one hop
and one fsync, not N awaits interleaved with other handlers (sharing one
connection from many handlers mixes their rows into one transaction).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .connection import open_sqlite
from .handoff import Job, WorkQueue, resolve_all
from .write_lock import WriteLock

T = TypeVar("T")

CommitObserver = Callable[[float, int], None]
"""Called on the writer thread after each commit with its duration (s) and job count."""


@dataclass
class WriterStats:
    batches: int = 0
    jobs: int = 0
    last_commit_ms: float = 0.0


class Writer:
    def __init__(self, path: Path, *, batch_max: int = 256, name: str = "writer",
                 observer: CommitObserver | None = None,
                 on_open: Callable[[sqlite3.Connection], None] | None = None,
                 on_transaction: Callable[[sqlite3.Connection, bool], None] | None = None,
                 ) -> None:
        self._path = path
        self._on_open = on_open  # per-connection set-up (temporary triggers), on the thread
        # Told (conn, True) after each batch's BEGIN and (conn, False) after its end: what a
        # callable may keep for the length of one transaction (store/stamps.py).
        self._on_transaction = on_transaction
        self.observer = observer
        self._batch_max = batch_max
        self._jobs = WorkQueue()
        self._thread = threading.Thread(target=self._run, name=f"hotline-{name}", daemon=True)
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self.stats = WriterStats()

    def start(self) -> None:
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            raise self._start_error

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in the next group commit; return once it is durable."""
        return await self._jobs.job(fn)

    async def run_bare(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` alone and outside a transaction (checkpoints, VACUUM)."""
        return await self._jobs.job(fn, bare=True)

    def alive(self) -> bool:
        """The writer thread is running and accepting work."""
        return self._thread.is_alive() and not self._jobs.closed

    def queue_depth(self) -> int:
        return self._jobs.depth()

    def close(self) -> None:
        """Finish everything already queued, then stop."""
        if self._jobs.stop():
            self._thread.join()

    # -- writer thread -------------------------------------------------------

    def _run(self) -> None:
        try:
            conn = open_sqlite(self._path, check_same_thread=True)
            lock = WriteLock(self._path)
            if self._on_open is not None:
                self._on_open(conn)
        except BaseException as e:  # reported to start()
            self._start_error = e
            self._started.set()
            return
        self._started.set()
        try:
            while True:
                batch, bare, stop = self._jobs.take_jobs(self._batch_max)
                if batch:
                    self._commit_batch(conn, lock, batch)
                if bare is not None:
                    self._run_bare(conn, lock, bare)
                if stop:
                    return
        finally:
            try:
                conn.close()
            finally:
                lock.close()  # whatever happened to the connection, the turn is given back

    @staticmethod
    def _run_bare(conn: sqlite3.Connection, lock: WriteLock, job: Job) -> None:
        with lock:
            try:
                result: tuple[Job, bool, Any] = (job, True, job.fn(conn))
            except Exception as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                result = (job, False, e)
        resolve_all([result])

    def _commit_batch(self, conn: sqlite3.Connection, lock: WriteLock, batch: list[Job]) -> None:
        started = time.perf_counter()
        results: list[tuple[Job, bool, Any]] = []
        failed: BaseException | None = None
        hook = self._on_transaction
        lock.acquire()  # our turn among the front ends sharing this file (write_lock.py)
        try:
            conn.execute("BEGIN IMMEDIATE")
            if hook is not None:
                hook(conn, True)
            if len(batch) == 1:
                results.append(self._run_alone(conn, batch[0]))
            else:
                for job in batch:
                    results.append(self._run_job(conn, job))
            if conn.in_transaction:
                conn.execute("COMMIT")
        except BaseException as e:  # the commit failed: nobody in this batch is saved
            failed = e
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        finally:
            if hook is not None:
                hook(conn, False)
            lock.release()  # before settling: a sibling's batch can start while ours wakes callers
        if failed is not None:
            resolve_all([(job, False, failed) for job in batch])
            return
        elapsed = time.perf_counter() - started
        self.stats.batches += 1
        self.stats.jobs += len(batch)
        self.stats.last_commit_ms = elapsed * 1000
        resolve_all(results)
        if self.observer is not None:
            with contextlib.suppress(Exception):  # a broken observer must never stop the writer
                self.observer(elapsed, len(batch))

    @staticmethod
    def _run_alone(conn: sqlite3.Connection, job: Job) -> tuple[Job, bool, Any]:
        """The batch's only job: no savepoint; a failure rolls back the transaction."""
        try:
            return job, True, job.fn(conn)
        except Exception as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return job, False, e

    @staticmethod
    def _run_job(conn: sqlite3.Connection, job: Job) -> tuple[Job, bool, Any]:
        """One job of several, in a savepoint left open (COMMIT releases them all)."""
        conn.execute("SAVEPOINT job")
        try:
            return job, True, job.fn(conn)
        except Exception as e:
            conn.execute("ROLLBACK TO job")  # the latest "job": this one's; it stays open
            return job, False, e
