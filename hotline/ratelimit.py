"""A global budget for receipt lookups, with no per-address state.

Receipt guessing is bounded for everyone at once: storing who guessed would
mean storing addresses, which we never do. 128-bit receipts make online
guessing hopeless whatever the rate, so the budget bounds the guesser's rate
and the server's work; it must never lock reporters out.

Two parts (docs/threat-model.md, "Flood"):

* **The budget**: ``per_minute`` failed lookups a minute. A lookup reserves a
  slot *before* it awaits anything (``reserve`` is synchronous, so on one event
  loop check and reservation are one step) and gives it back on success. A
  burst of parallel wrong receipts therefore records exactly the budget,
  never more.
* **The slow lane**: once the minute's budget is spent, a lookup is not
  refused. It waits for a slot in one global, paced lane (one lookup every
  ``interval`` seconds), valid receipt or not: the server cannot tell them
  apart before the lookup, and answering valid ones at once would tell a
  guesser early that a guess failed. A guesser's rate is capped at the lane's,
  and a reporter behind a slow stream (one a second) waits at most one
  interval. Only a flood deep enough to queue more than ``max_wait`` seconds
  of lane is answered 429, and that answer costs the server nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class GlobalFailureLimit:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, *,
                 interval: float = 0.25, max_wait: float = 30.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._limit = per_minute
        self._clock = clock
        self._sleep = sleep
        self._interval = interval
        self._max_wait = max_wait
        self._window = -1
        self._failures = 0
        self._lane_free_at = 0.0

    def _roll(self) -> None:
        window = int(self._clock() // 60)
        if window != self._window:
            self._window, self._failures = window, 0

    @property
    def failures(self) -> int:
        """Failures reserved in the current minute (reserved and not refunded)."""
        self._roll()
        return self._failures

    def exhausted(self) -> bool:
        self._roll()
        return self._failures >= self._limit

    def reserve(self) -> bool:
        """Take one failure slot of this minute, if one is left. No await: atomic on the loop."""
        self._roll()
        if self._failures >= self._limit:
            return False
        self._failures += 1
        return True

    def refund(self) -> None:
        """The reserved lookup succeeded: it was no failure."""
        self._roll()
        if self._failures > 0:
            self._failures -= 1

    def lane_slot(self) -> float | None:
        """Claim the next slot of the slow lane (synchronously); seconds to wait, or None if
        the queue is already longer than ``max_wait``."""
        now = self._clock()
        at = max(now, self._lane_free_at)
        if at - now > self._max_wait:
            return None
        self._lane_free_at = at + self._interval
        return at - now

    async def admit(self) -> bool:
        """Before a lookup: True if it used a budget slot (refund on success), False if it
        went through the slow lane. Raises ``Strained`` when even the lane is full."""
        if self.reserve():
            return True
        wait = self.lane_slot()
        if wait is None:
            raise Strained
        if wait > 0:
            await self._sleep(wait)
        return False


class Strained(Exception):
    """The budget is spent and the slow lane is queued past its longest wait."""
