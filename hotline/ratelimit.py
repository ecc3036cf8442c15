"""A global failure budget per minute, with no per-address state.

Receipt guessing is limited for everyone at once: storing who guessed would
mean storing addresses, which we never do. 128-bit receipts make the limit a
second wall, not the first.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class GlobalFailureLimit:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = per_minute
        self._clock = clock
        self._window = -1
        self._failures = 0

    def _roll(self) -> None:
        window = int(self._clock() // 60)
        if window != self._window:
            self._window, self._failures = window, 0

    def exhausted(self) -> bool:
        self._roll()
        return self._failures >= self._limit

    def record_failure(self) -> None:
        self._roll()
        self._failures += 1
