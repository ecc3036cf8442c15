"""The hand-off between the event loop and the store's threads, for either engine.

Both engines run their writer and readers on plain threads (``writer.py``,
``pg_writer.py``, ``reader.py``, ``pg_reader.py``); what differs is only what a
thread does with a batch. The queue, how a batch is taken from it, and how its
callers' futures are settled (one wake-up per event loop) live here once, so
the two engines cannot drift apart on the part that decides when a caller is
told "done".
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ..errors import ServiceUnavailable

T = TypeVar("T")

STOP = object()
"""Put on a queue to tell one thread to finish what came before it and stop."""

SHUTTING_DOWN = "the service is shutting down"


@dataclass(slots=True)
class Job:
    """A write callable, the future its caller awaits, and that caller's loop."""

    fn: Callable[[Any], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    bare: bool = False  # run alone, outside any transaction


@dataclass(slots=True)
class Query:
    """A read: SQL, its parameters, and where the rows go."""

    sql: str
    params: tuple[Any, ...]
    future: asyncio.Future[list[Any]]
    loop: asyncio.AbstractEventLoop


class WorkQueue:
    """One store thread's (or thread pool's) queue of jobs or queries."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.closed = False

    def depth(self) -> int:
        return self._queue.qsize()

    async def job(self, fn: Callable[[Any], T], *, bare: bool = False) -> T:
        """Queue a write callable; return its result once the thread settled it."""
        if self.closed:
            raise ServiceUnavailable(SHUTTING_DOWN)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(Job(fn, future, loop, bare))
        # A caller that gives up (cancelled, timed out) cancels only this future: no store
        # thread looks at it before running the job, so a queued write still runs and commits,
        # and settling skips the cancelled future. (No asyncio.shield: it cost each write a
        # second future and a loop hop, ~3 µs of event-loop time.)
        return await future

    async def query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        if self.closed:
            raise ServiceUnavailable(SHUTTING_DOWN)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        self._queue.put(Query(sql, params, future, loop))
        return await future

    def stop(self, threads: int = 1) -> bool:
        """Refuse new work and queue one STOP per thread; False if already stopped."""
        if self.closed:
            return False
        self.closed = True
        for _ in range(threads):
            self._queue.put(STOP)
        return True

    def take_jobs(self, batch_max: int) -> tuple[list[Job], Job | None, bool]:
        """Queued jobs up to ``batch_max``; a bare job ends the batch and runs after it.

        Returns (batch, bare job or None, stop). Blocks for the first item."""
        first = self._queue.get()
        if first is STOP:
            return [], None, True
        if first.bare:
            return [], first, False
        batch = [first]
        while len(batch) < batch_max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is STOP:
                return batch, None, True
            if item.bare:
                return batch, item, False
            batch.append(item)
        return batch, None, False

    def take_queries(self, batch_max: int) -> tuple[list[Query], bool]:
        """Queued queries up to ``batch_max`` and whether a STOP ended them."""
        batch: list[Any] = [self._queue.get()]
        while len(batch) < batch_max and batch[-1] is not STOP:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        stop = batch[-1] is STOP
        return [q for q in batch if q is not STOP], stop


class Waiting(Protocol):
    """Work handed to a store thread: the future its caller awaits, on the caller's loop."""

    @property
    def future(self) -> asyncio.Future[Any]: ...
    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...


def resolve_all(results: Sequence[tuple[Waiting, bool, Any]]) -> None:
    """Settle a batch's futures with one wake-up per event loop, not one per job."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Waiting, bool, Any]]] = {}
    for item in results:
        by_loop.setdefault(item[0].loop, []).append(item)
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, items)
        except RuntimeError:  # the loop is closed; nobody is waiting any more
            pass


def _settle(items: list[tuple[Waiting, bool, Any]]) -> None:
    for work, ok, value in items:
        if work.future.done():  # the caller was cancelled
            continue
        if ok:
            work.future.set_result(value)
        else:
            work.future.set_exception(value)
