"""The single writer with its callables on the event loop; only the waits on a thread.

Same contract as ``writer.py`` (group commit, a failing job rolled back alone,
nobody answered before COMMIT returned, ``run_bare`` for what SQLite refuses
inside a transaction), different split of the work: the write callables run
on the event loop itself, and a helper thread does only what blocks: waiting
for the file's write turn (``write_lock.py``) with ``BEGIN IMMEDIATE``, and
``COMMIT`` (the fsync) with the turn given back. Why: with the callables on a
thread of their own, every statement they run is two GIL hand-offs between
that thread and the event loop, and the loop waits for the GIL at each of
them; here a report's statements run where its other work runs, and the loop
is told once per batch (the helper's future), not once per job.

What it costs: the loop is busy while SQLite runs each statement (the
statements are short: indexed inserts and point reads; anything long goes
through ``run_bare``, on the helper). And the file's write turn is held
from BEGIN until the loop gets round to the batch's jobs: nothing to anyone
while this process is the file's only writer, but with several front ends
on one file (``serve --workers N``) a sibling waits for the turn through
that delay too, and two workers served 10-20 % fewer reports a second
(``bench/RESULTS.md``). So a batch whose turn had to be waited for (the file
is shared now) runs its jobs on the helper, with the turn, as ``writer.py``
does, and so do the batches of the next ``SHARED_FOR`` seconds.

One event loop per writer (the loop the service runs on); the connection is
used by one side at a time, in order: helper (BEGIN), loop (the jobs), helper
(COMMIT), all within one call on the helper, which hands the jobs to the loop
and waits for them. If the loop does not take them within ``LOOP_GRACE`` (it is
blocked: by anything that waits on the loop for this same file's write lock,
an in-process admin write, a slow callback), the helper claims and runs them
itself, so the turn is never held waiting on a loop that cannot come back.
Jobs queued while a batch commits make the next batch.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ServiceUnavailable
from .connection import open_sqlite
from .handoff import SHUTTING_DOWN, Job
from .write_lock import WriteLock
from .writer import CommitObserver, Writer, WriterStats

T = TypeVar("T")
SHARED_FOR = 2.0
"""Seconds after a wait for the write turn during which batches run on the helper."""
LOOP_GRACE = 0.05
"""Seconds the helper, holding the turn, waits for the loop to take a batch's jobs before
it runs them itself (a loop blocked by something waiting for this same file's lock)."""


class LoopWriter:
    def __init__(self, path: Path, *, batch_max: int = 256, name: str = "writer",
                 observer: CommitObserver | None = None,
                 on_open: Callable[[sqlite3.Connection], None] | None = None,
                 on_transaction: Callable[[sqlite3.Connection, bool], None] | None = None,
                 ) -> None:
        self._path = path
        self._on_open, self._on_transaction = on_open, on_transaction
        self.observer = observer
        self._batch_max = batch_max
        self._helper = ThreadPoolExecutor(1, thread_name_prefix=f"hotline-{name}")
        self._pending: collections.deque[Job] = collections.deque()
        self._drain: asyncio.Task[None] | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock: WriteLock | None = None
        self._thread: threading.Thread | None = None  # the helper (benches read its CPU)
        self._closed = False
        self._shared_until = 0.0  # monotonic time until which the file counts as shared
        self.stats = WriterStats()

    def start(self) -> None:
        self._helper.submit(self._open).result()

    def _open(self) -> None:
        self._thread = threading.current_thread()
        conn = open_sqlite(self._path, check_same_thread=False)  # loop and helper, in turn
        try:
            if self._on_open is not None:
                self._on_open(conn)
            self._lock = WriteLock(self._path)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` (on this loop) in the next group commit; return once it is durable."""
        return await self._queue(fn, bare=False)

    async def run_bare(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` alone, outside a transaction, on the helper (checkpoints, VACUUM)."""
        return await self._queue(fn, bare=True)

    async def _queue(self, fn: Callable[[sqlite3.Connection], T], *, bare: bool) -> T:
        if self._closed:
            raise ServiceUnavailable(SHUTTING_DOWN)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append(Job(fn, future, loop, bare))
        if self._drain is None or self._drain.done():
            self._drain = loop.create_task(self._drain_pending())
        # A caller that gives up cancels only its future; its job still runs and commits.
        return await future

    def alive(self) -> bool:
        return not self._closed and self._conn is not None

    def queue_depth(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        """For callers without a loop: nothing may be pending (``aclose`` finishes it)."""
        self._closed = True
        self._helper.submit(self._close_conn).result()
        self._helper.shutdown(wait=True)

    async def aclose(self) -> None:
        """Finish everything already queued, then stop."""
        self._closed = True
        if self._drain is not None and not self._drain.done():
            await asyncio.shield(self._drain)
        await asyncio.get_running_loop().run_in_executor(self._helper, self._close_conn)
        self._helper.shutdown(wait=True)

    def _close_conn(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                if self._lock is not None:
                    self._lock.close()
            self._conn = None

    # -- on the loop -------------------------------------------------------------

    async def _drain_pending(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            if self._pending[0].bare:
                await self._bare(loop, self._pending.popleft())
                continue
            batch: list[Job] = []
            while self._pending and not self._pending[0].bare and len(batch) < self._batch_max:
                batch.append(self._pending.popleft())
            await self._commit_batch(loop, batch)

    async def _bare(self, loop: asyncio.AbstractEventLoop, job: Job) -> None:
        conn, lock = self._conn, self._lock
        assert conn is not None and lock is not None

        def bare() -> Any:
            with lock:
                try:
                    return job.fn(conn)
                except Exception:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        try:
            _settle(job, True, await loop.run_in_executor(self._helper, bare))
        except Exception as e:
            _settle(job, False, e)

    async def _commit_batch(self, loop: asyncio.AbstractEventLoop, batch: list[Job]) -> None:
        conn, lock, hook = self._conn, self._lock, self._on_transaction
        assert conn is not None and lock is not None
        started = time.perf_counter()

        def begin() -> bool:
            """Take the turn and BEGIN; True if the jobs should run here (file shared)."""
            waited = not lock.try_acquire()
            if waited:
                lock.acquire()  # a sibling front end holds the file: wait in the kernel
            try:
                conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                lock.release()
                raise
            now = time.monotonic()
            if waited:
                self._shared_until = now + SHARED_FOR
            return now < self._shared_until

        def run_jobs() -> tuple[list[tuple[Job, bool, Any]], BaseException | None]:
            results: list[tuple[Job, bool, Any]] = []
            try:
                if hook is not None:
                    hook(conn, True)
                if len(batch) == 1:
                    results.append(Writer._run_alone(conn, batch[0]))
                else:
                    results.extend(Writer._run_job(conn, job) for job in batch)
            except BaseException as e:  # a savepoint statement failed: nobody is saved
                return results, e
            return results, None

        def finish(commit: bool) -> None:
            try:
                if conn.in_transaction:
                    conn.execute("COMMIT" if commit else "ROLLBACK")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                if hook is not None:
                    hook(conn, False)
                lock.release()

        def whole_batch() -> tuple[list[tuple[Job, bool, Any]], BaseException | None]:
            """On the helper: BEGIN, the jobs (on the loop if it takes them within
            ``LOOP_GRACE``, else here), COMMIT and the turn given back, all in this one
            call, so the turn is never held waiting on a loop that cannot come back."""
            shared = begin()
            done = threading.Event()
            claim = threading.Lock()
            box: list[tuple[list[tuple[Job, bool, Any]], BaseException | None]] = []

            def on_loop() -> None:
                if claim.acquire(blocking=False):  # else the helper took the jobs
                    try:
                        box.append(run_jobs())
                    finally:
                        done.set()

            if not shared:
                try:
                    loop.call_soon_threadsafe(on_loop)
                except RuntimeError:  # the loop is closed: the jobs run here
                    pass
                if not done.wait(LOOP_GRACE) and not claim.acquire(blocking=False):
                    done.wait()  # the loop took them just now: they are short
            if not box:  # shared file, or the loop did not come back in time
                box.append(run_jobs())
            results, failed = box[0]
            try:
                finish(failed is None)
            except BaseException as e:  # the commit failed: nobody in this batch is saved
                failed = failed or e
            return results, failed

        try:
            results, failed = await loop.run_in_executor(self._helper, whole_batch)
        except Exception as e:
            for job in batch:
                _settle(job, False, e)
            return
        if failed is not None:
            for job in batch:
                _settle(job, False, failed)
            return
        elapsed = time.perf_counter() - started
        self.stats.batches += 1
        self.stats.jobs += len(batch)
        self.stats.last_commit_ms = elapsed * 1000
        for job, ok, value in results:
            _settle(job, ok, value)
        if self.observer is not None:
            with contextlib.suppress(Exception):  # a broken observer must never stop the writer
                self.observer(elapsed, len(batch))


def _settle(job: Job, ok: bool, value: Any) -> None:
    if job.future.done():  # the caller was cancelled
        return
    if ok:
        job.future.set_result(value)
    else:
        job.future.set_exception(value)
