"""Attachments and recordings as secretstream part streams (CRYPTO.md §6, 12).

Files can be large, so they are encrypted in chunks with memory that stays
flat. The key is the message key's labelled subkey for part N >= 1, so the
part opens with the same key the envelope carries. Every chunk's associated
data is the part header, which binds tip, message, part number, direction and
channel but NOT the recipients: a hand-off (a key grant of the same message
key) shares the attachments without re-encrypting (or even downloading) them.
"""

from __future__ import annotations

import hmac
import io
from collections.abc import Iterator
from typing import BinaryIO

import nacl.bindings as sodium
import nacl.exceptions

from crypto._encoding import DEFAULT_RNG, Reader, Rng, canonical, random_bytes, u8, u32
from crypto.envelope import (
    COMMITMENT_BYTES,
    MESSAGE_KEY_BYTES,
    EnvelopeContext,
    check_preamble,
    key_commitment,
    part_subkey,
)
from crypto.errors import DecryptionError
from crypto.padding import MAX_PADDING, padded_length, padding_for

MAGIC = b"HLPT"
VERSION = 1
SUITE = 1
"""Suite 1: crypto_secretstream_xchacha20poly1305, BLAKE2b subkeys, sodium_pad buckets."""
SUPPORTED = frozenset({(VERSION, SUITE)})
DEFAULT_CHUNK_SIZE = 65536
MIN_CHUNK_SIZE = 16
MAX_CHUNK_SIZE = 1024 * 1024
MAX_PART = 2**32 - 1
HEADER_BYTES = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
PREFIX_BYTES = 4 + 1 + 1 + 4 + 4 + COMMITMENT_BYTES + HEADER_BYTES


def _check_args(message_key: bytes, part: int) -> None:
    if len(message_key) != MESSAGE_KEY_BYTES:
        raise ValueError("message key must be 32 bytes")
    if not 1 <= part <= MAX_PART:
        raise ValueError("attachment parts are numbered from 1 (part 0 is the text)")


def _associated_data(ctx: EnvelopeContext, part: int, chunk_size: int, commitment: bytes) -> bytes:
    """The part header every chunk authenticates (see SPEC.md)."""
    return canonical(
        MAGIC, u8(VERSION), u8(SUITE), *ctx.ad_fields(part), u32(chunk_size), commitment
    )


def _push_state(key: bytes, header: bytes) -> sodium.crypto_secretstream_xchacha20poly1305_state:
    """A push state for a caller-chosen header.

    libsodium's init_push draws the header itself; init_pull with the same
    header sets up the identical state (HChaCha20 subkey, counter 1, nonce),
    so pushing from it yields a standard stream whose header came from our rng.
    A test checks this against init_push.
    """
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
    return state


def _read_exact(src: BinaryIO, n: int) -> bytes:
    """Read up to ``n`` bytes, looping over short reads; fewer only at end of stream."""
    pieces: list[bytes] = []
    remaining = n
    while remaining > 0:
        piece = src.read(remaining)
        if not piece:
            break
        pieces.append(piece)
        remaining -= len(piece)
    return b"".join(pieces)


def _padded_pieces(src: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    """The source, then its bucket padding (0x80 then zeros), as a stream of pieces."""
    total = 0
    while piece := _read_exact(src, chunk_size):
        total += len(piece)
        yield piece
    yield padding_for(total)


def _chunks(src: BinaryIO, chunk_size: int) -> Iterator[tuple[bytes, bool]]:
    """Exactly ``chunk_size`` plaintext per chunk; the last (1..chunk_size bytes) is final."""
    buf = b""
    for piece in _padded_pieces(src, chunk_size):
        buf += piece
        start = 0
        while len(buf) - start > chunk_size:
            yield buf[start : start + chunk_size], False
            start += chunk_size
        buf = buf[start:]
    yield buf, True


def encrypt_part(
    ctx: EnvelopeContext,
    message_key: bytes,
    part: int,
    src: BinaryIO,
    dst: BinaryIO,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    rng: Rng = DEFAULT_RNG,
) -> int:
    """Encrypt ``src`` to ``dst`` as part ``part`` of the message; returns bytes written.

    rng is called once, for the 24-byte secretstream header.
    """
    _check_args(message_key, part)
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be {MIN_CHUNK_SIZE}..{MAX_CHUNK_SIZE}")
    commitment = key_commitment(message_key)
    header = random_bytes(rng, HEADER_BYTES)
    state = _push_state(part_subkey(message_key, part), header)
    ad = _associated_data(ctx, part, chunk_size, commitment)
    prefix = MAGIC + u8(VERSION) + u8(SUITE) + u32(part) + u32(chunk_size) + commitment + header
    written = dst.write(prefix)
    for chunk, final in _chunks(src, chunk_size):
        tag = TAG_FINAL if final else TAG_MESSAGE
        sealed = sodium.crypto_secretstream_xchacha20poly1305_push(state, chunk, ad, tag)
        written += dst.write(sealed)
    return written


class _Unpadder:
    """Releases plaintext to ``dst`` but holds back the last 64 KiB, where padding may be."""

    def __init__(self, dst: BinaryIO) -> None:
        self._dst = dst
        self._held = bytearray()
        self.written = 0

    def feed(self, data: bytes) -> None:
        self._held += data
        if len(self._held) > 2 * MAX_PADDING:
            cut = len(self._held) - MAX_PADDING
            self.written += self._dst.write(bytes(self._held[:cut]))
            del self._held[:cut]

    def finish(self) -> int:
        body = bytes(self._held).rstrip(b"\x00")
        if not body.endswith(b"\x80"):
            raise DecryptionError("invalid padding")
        body = body[:-1]
        total = self.written + len(self._held)
        if padded_length(self.written + len(body)) != total:
            raise DecryptionError("invalid padding")
        self.written += self._dst.write(body)
        return self.written


def _read_prefix(src: BinaryIO, message_key: bytes, part: int) -> tuple[int, bytes, bytes]:
    """Check the part stream's prefix; returns (chunk_size, commitment, secretstream header)."""
    raw = _read_exact(src, PREFIX_BYTES)
    check_preamble(raw, MAGIC, SUPPORTED)
    r = Reader(raw, DecryptionError)
    r.take(6)
    if r.u32() != part:
        r.fail("this stream is a different part of the message")
    chunk_size = r.u32()
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        r.fail("invalid chunk size")
    commitment = r.take(COMMITMENT_BYTES)
    if not hmac.compare_digest(commitment, key_commitment(message_key)):
        r.fail("key commitment mismatch")
    return chunk_size, commitment, r.take(HEADER_BYTES)


def _pull(
    state: sodium.crypto_secretstream_xchacha20poly1305_state, chunk: bytes, ad: bytes
) -> tuple[bytes, int]:
    try:
        return sodium.crypto_secretstream_xchacha20poly1305_pull(state, chunk, ad)
    except nacl.exceptions.CryptoError:
        raise DecryptionError("authentication failed") from None


def decrypt_part(
    ctx: EnvelopeContext,
    message_key: bytes,
    part: int,
    src: BinaryIO,
    dst: BinaryIO,
) -> int:
    """Decrypt a part stream to ``dst``; returns plaintext bytes written.

    Raises DecryptionError on any tampering, truncation (no TAG_FINAL), a
    FINAL chunk before the end, or trailing bytes. Output already written to
    ``dst`` before an error is authentic but incomplete: callers must discard it.
    """
    _check_args(message_key, part)
    chunk_size, commitment, header = _read_prefix(src, message_key, part)
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    key = part_subkey(message_key, part)
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
    ad = _associated_data(ctx, part, chunk_size, commitment)
    out = _Unpadder(dst)
    while True:
        chunk = _read_exact(src, chunk_size + ABYTES)
        if len(chunk) <= ABYTES:
            raise DecryptionError("truncated part stream")
        plaintext, tag = _pull(state, chunk, ad)
        out.feed(plaintext)
        if tag == TAG_FINAL:
            break
        if tag != TAG_MESSAGE:
            raise DecryptionError("unexpected secretstream tag")
        if len(chunk) < chunk_size + ABYTES:
            raise DecryptionError("truncated part stream")
    if src.read(1):
        raise DecryptionError("trailing bytes after the final chunk")
    return out.finish()


def encrypt_part_bytes(
    ctx: EnvelopeContext,
    message_key: bytes,
    part: int,
    data: bytes,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    rng: Rng = DEFAULT_RNG,
) -> bytes:
    """In-memory convenience around ``encrypt_part``."""
    dst = io.BytesIO()
    encrypt_part(ctx, message_key, part, io.BytesIO(data), dst, chunk_size=chunk_size, rng=rng)
    return dst.getvalue()


def decrypt_part_bytes(ctx: EnvelopeContext, message_key: bytes, part: int, data: bytes) -> bytes:
    """In-memory convenience around ``decrypt_part``."""
    dst = io.BytesIO()
    decrypt_part(ctx, message_key, part, io.BytesIO(data), dst)
    return dst.getvalue()
