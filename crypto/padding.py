"""Length-hiding padding buckets (CRYPTO.md §12).

Bucket for a plaintext of n bytes: b = n + 1 (sodium_pad always adds at least
one byte); below 256 -> 256; up to 64 KiB -> next power of two; above -> next
multiple of 64 KiB. So every message under 255 bytes looks the same, and a
long text or recording reveals its size only to within 2x (small) or 64 KiB.
"""

from __future__ import annotations

import nacl.bindings
import nacl.exceptions

MIN_BUCKET = 256
LARGE_STEP = 65536
MAX_PADDING = LARGE_STEP
"""No bucket ever adds more than 64 KiB of padding (streaming readers rely on this)."""


def padded_length(n: int) -> int:
    """Size of the padded plaintext for an ``n``-byte plaintext."""
    if n < 0:
        raise ValueError("length must be non-negative")
    need = n + 1
    if need <= MIN_BUCKET:
        return MIN_BUCKET
    if need <= LARGE_STEP:
        return 1 << (need - 1).bit_length()
    return -(-need // LARGE_STEP) * LARGE_STEP


def pad(data: bytes) -> bytes:
    """ISO/IEC 7816-4 pad (sodium_pad) ``data`` to its bucket."""
    target = padded_length(len(data))
    out = nacl.bindings.sodium_pad(data, target)
    if len(out) != target:  # pragma: no cover - libsodium contract
        raise RuntimeError("sodium_pad produced an unexpected length")
    return out


def unpad(padded: bytes) -> bytes | None:
    """Strip padding; None if it is malformed or not the canonical bucket for the content."""
    if len(padded) < MIN_BUCKET:
        return None
    try:
        data = nacl.bindings.sodium_unpad(padded, min(len(padded), LARGE_STEP))
    except (nacl.exceptions.CryptoError, ValueError):
        return None
    if padded_length(len(data)) != len(padded):
        return None
    return data


def padding_for(n: int) -> bytes:
    """The padding bytes (0x80 then zeros) a stream of ``n`` bytes needs to reach its bucket."""
    return b"\x80" + bytes(padded_length(n) - n - 1)
