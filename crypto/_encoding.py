"""Private byte-level helpers shared by every format.

Two encodings exist on purpose: ``lp32`` (u32 big-endian length + bytes) is the
one canonical encoding for everything that is authenticated or signed, so no two
field lists can ever serialise to the same bytes; the wire formats use the
compact fixed-size integers below, parsed by ``Reader``, which never lets an
IndexError or struct.error escape.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NoReturn

import nacl.utils

from crypto.errors import CryptoError

Rng = Callable[[int], bytes]
"""Randomness source: ``rng(n)`` returns ``n`` random bytes (injected for test vectors)."""

DEFAULT_RNG: Rng = nacl.utils.random


def random_bytes(rng: Rng, n: int) -> bytes:
    """Call ``rng`` and refuse short or mistyped output, which would silently weaken keys."""
    out = rng(n)
    if not isinstance(out, bytes) or len(out) != n:
        raise ValueError(f"rng must return exactly {n} bytes")
    return out


def lp32(field: bytes) -> bytes:
    """Length-prefix one field (u32 big-endian) for canonical authenticated encodings."""
    return struct.pack(">I", len(field)) + field


def canonical(*fields: bytes) -> bytes:
    """Concatenate length-prefixed fields: injective, so distinct field lists never collide."""
    return b"".join(lp32(f) for f in fields)


def u8(n: int) -> bytes:
    return struct.pack(">B", n)


def u16(n: int) -> bytes:
    return struct.pack(">H", n)


def u32(n: int) -> bytes:
    return struct.pack(">I", n)


def u64(n: int) -> bytes:
    return struct.pack(">Q", n)


def str16(text: str) -> bytes:
    """Wire encoding of a short string: u16 big-endian byte length + UTF-8."""
    raw = text.encode("utf-8")
    return u16(len(raw)) + raw


class Reader:
    """Strict cursor over untrusted bytes; every failure is the format's own CryptoError."""

    def __init__(self, data: bytes, error: Callable[[str], CryptoError]) -> None:
        self._data = bytes(data)
        self._pos = 0
        self._error = error

    def fail(self, reason: str) -> NoReturn:
        raise self._error(reason)

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.remaining < n:
            self.fail("truncated")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def u8(self) -> int:
        return int(self.take(1)[0])

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def u64(self) -> int:
        return int.from_bytes(self.take(8), "big")

    def str16(self, max_bytes: int) -> str:
        """Read a u16-prefixed UTF-8 string, refusing over-long or undecodable text."""
        n = self.u16()
        if n > max_bytes:
            self.fail("field too long")
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError:
            self.fail("field is not valid UTF-8")

    def consumed(self) -> bytes:
        """Everything read so far (used as associated data over a parsed header)."""
        return self._data[: self._pos]

    def finish(self) -> None:
        if self.remaining:
            self.fail("trailing bytes")
