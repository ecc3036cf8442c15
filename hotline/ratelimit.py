"""A global budget for receipt lookups, with no per-address state.

Receipt guessing is bounded for everyone at once: storing who guessed would
mean storing addresses, which we never do. 128-bit receipts make online
guessing hopeless whatever the rate, so the budget bounds the guesser's rate
and the server's work; it must never lock reporters out.

Two parts (docs/threat-model.md, "Flood"; docs/scale.md for several front ends):

* **The budget**: ``per_minute`` failed lookups a minute, counted in the
  database (``flood_budget``, kind ``receipt_failure``) so that every front
  end, on this machine or another, spends the same budget. A lookup reserves
  a slot in one write *before* the lookup and gives it back on success; the
  database serialises the reservations, so a burst of parallel wrong
  receipts across any number of front ends records exactly the budget. Once
  a front end has seen the minute's budget spent it stops asking until the
  next minute (a flood past the budget costs no writes).
* **The slow lane**: once the minute's budget is spent, a lookup is not
  refused. It waits for a slot in a paced lane (one lookup every
  ``interval`` seconds), valid receipt or not: the server cannot tell them
  apart before the lookup, and answering valid ones at once would tell a
  guesser early that a guess failed. The lane is each front end's own: with
  N front ends a guesser past the budget gets N lanes, N/``interval``
  lookups a second in all (4 a second per front end by default), still
  nothing against 2^128, and each front end's work stays bounded. Sharing
  the lane would put a database round trip on every paced lookup for no
  gain in safety. Only a flood deep enough to queue more than ``max_wait``
  seconds of a lane is answered 429, and that answer costs nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from .store.budgets import give_back, slot_of, take

KIND = "receipt_failure"


class _Writes(Protocol):
    async def write(self, fn: Callable[..., object]) -> object: ...  # pragma: no cover
    async def fetchone(self, sql: str, params: tuple[object, ...] = ()) -> object: ...


class GlobalFailureLimit:
    def __init__(self, per_minute: int, db: _Writes, *,
                 clock: Callable[[], float] = time.time,
                 lane_clock: Callable[[], float] = time.monotonic,
                 interval: float = 0.25, max_wait: float = 30.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._limit, self._db = per_minute, db
        self._clock, self._lane_clock, self._sleep = clock, lane_clock, sleep
        self._interval = interval
        self._max_wait = max_wait
        self._spent_slot: int | None = None  # the minute this front end saw spent
        self._lane_free_at = 0.0

    async def failures(self) -> int:
        """Failures reserved in the current minute by every front end (not refunded)."""
        row = await self._db.fetchone("SELECT used FROM flood_budget WHERE kind = ? AND slot = ?",
                                      (KIND, slot_of(self._clock())))
        return int(row[0]) if row is not None else 0  # type: ignore[index]

    async def exhausted(self) -> bool:
        return await self.failures() >= self._limit

    async def reserve(self) -> int | None:
        """Take one failure slot of this minute, if one is left: the minute's start, or None."""
        now = self._clock()
        slot = slot_of(now)
        if self._spent_slot == slot:
            return None
        limit = self._limit
        if await self._db.write(lambda conn: take(conn, KIND, now, limit)):
            return slot
        self._spent_slot = slot
        return None

    async def refund(self, slot: int) -> None:
        """The reserved lookup succeeded: it was no failure."""
        await self._db.write(lambda conn: give_back(conn, KIND, slot))

    def lane_slot(self) -> float | None:
        """Claim the next slot of this front end's slow lane (synchronously); seconds to wait,
        or None if the queue is already longer than ``max_wait``."""
        now = self._lane_clock()
        at = max(now, self._lane_free_at)
        if at - now > self._max_wait:
            return None
        self._lane_free_at = at + self._interval
        return at - now

    async def admit(self) -> int | None:
        """Before a lookup: the budget minute it reserved (refund it on success), or None if
        it went through the slow lane. Raises ``Strained`` when even the lane is full."""
        slot = await self.reserve()
        if slot is not None:
            return slot
        wait = self.lane_slot()
        if wait is None:
            raise Strained
        if wait > 0:
            await self._sleep(wait)
        return None


class Strained(Exception):
    """The budget is spent and the slow lane is queued past its longest wait."""
