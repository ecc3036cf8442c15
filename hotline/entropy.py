"""One read of the OS random source per report, handed out in disjoint pieces.

A web report needs some 200 random bytes in a dozen pieces: the receipt, the
message id, the tip reference, the message key, an ephemeral key per
recipient, two nonces, the receipt cookie's nonce. Each ``os.urandom`` (and
PyNaCl's ``random``, which is ``os.urandom``) releases the GIL around its
``getrandom`` call; on the event loop thread, while the writer threads hold
the GIL, every release is a wait to take it back. Profiled on the intake path
(bench/RESULTS.md, "issue 16, the web path", 2026-12-03 21:40 UTC): some 16
calls per report, ~0.1 ms of the event loop's wall time, most of it waiting.

A ``Draw`` reads once and slices: each byte is handed out at most once (a
piece is never given twice, and a request larger than what is left reads
afresh), so every piece is as random and as independent of the others as if
it had been read on its own. A draw lives for one report on one thread; it is
never shared between reports or threads, never kept after the report, and
never crosses a ``fork`` (nothing random is buffered at module level).
"""

from __future__ import annotations

import os

DRAW_BYTES = 320
"""Enough for a web report sealed to up to four recipients in one read; more reads again."""


class Draw:
    """Random bytes read once from the OS, given out once each. Callable as a ``crypto.Rng``."""

    __slots__ = ("_buffer", "_position")

    def __init__(self, size: int = DRAW_BYTES) -> None:
        self._buffer = os.urandom(size)
        self._position = 0

    def __call__(self, n: int) -> bytes:
        if n < 0:
            raise ValueError("cannot take a negative number of bytes")
        end = self._position + n
        if end > len(self._buffer):  # what is left is dropped, never reused
            self._buffer = os.urandom(max(n, DRAW_BYTES))
            self._position, end = 0, n
        piece = self._buffer[self._position:end]
        self._position = end
        return piece
