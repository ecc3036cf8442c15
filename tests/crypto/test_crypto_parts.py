"""Part streams: round trips, chunk edge cases, truncation, reordering, tampering, memory."""

from __future__ import annotations

import io
import tracemalloc

import nacl.bindings as sodium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    CryptoError,
    DecryptionError,
    EnvelopeContext,
    UnsupportedFormat,
    decrypt_part,
    decrypt_part_bytes,
    encrypt_part,
    encrypt_part_bytes,
    padded_length,
)
from crypto.envelope import key_commitment, part_subkey
from crypto.parts import ABYTES, PREFIX_BYTES, _associated_data, _push_state
from crypto.testing import seeded_rng

CTX = EnvelopeContext("inst-1", "tip-1", "msg-1", "in", "whatsapp")
KEY = bytes(range(32))
DATA = bytes(range(256)) * 3 + b"tail"
CHUNK = 64
STREAM = encrypt_part_bytes(CTX, KEY, 1, DATA, chunk_size=CHUNK, rng=seeded_rng(b"t-part"))


def _chunks_of(stream: bytes, chunk_size: int) -> list[bytes]:
    body = stream[PREFIX_BYTES:]
    step = chunk_size + ABYTES
    return [body[i : i + step] for i in range(0, len(body), step)]


def test_round_trip() -> None:
    assert decrypt_part_bytes(CTX, KEY, 1, STREAM) == DATA
    assert len(_chunks_of(STREAM, CHUNK)) == padded_length(len(DATA)) // CHUNK


EDGE_SIZES = [0, 1, 63, 64, 65, 255, 256, 1000, 65535, 65536, 70000]


@pytest.mark.parametrize(
    ("size", "chunk"),
    [(s, c) for c in (16, 64, 65536) for s in EDGE_SIZES if c > 16 or s <= 1000],
)
def test_sizes_around_chunk_and_bucket_edges(size: int, chunk: int) -> None:
    data = bytes(i % 251 for i in range(size))
    stream = encrypt_part_bytes(CTX, KEY, 3, data, chunk_size=chunk)
    assert decrypt_part_bytes(CTX, KEY, 3, stream) == data


def test_empty_file_is_a_single_final_chunk() -> None:
    stream = encrypt_part_bytes(CTX, KEY, 1, b"")
    assert len(stream) == PREFIX_BYTES + padded_length(0) + ABYTES
    assert decrypt_part_bytes(CTX, KEY, 1, stream) == b""


def test_stream_functions_report_bytes_written() -> None:
    dst = io.BytesIO()
    written = encrypt_part(CTX, KEY, 1, io.BytesIO(DATA), dst, chunk_size=CHUNK)
    assert written == len(dst.getvalue())
    out = io.BytesIO()
    assert decrypt_part(CTX, KEY, 1, io.BytesIO(dst.getvalue()), out) == len(DATA)
    assert out.getvalue() == DATA


def test_wrong_part_context_or_key_fails() -> None:
    with pytest.raises(DecryptionError, match="different part"):
        decrypt_part_bytes(CTX, KEY, 2, STREAM)
    other = EnvelopeContext("inst-1", "tip-1", "msg-2", "in", "whatsapp")
    with pytest.raises(DecryptionError, match="authentication"):
        decrypt_part_bytes(other, KEY, 1, STREAM)
    with pytest.raises(DecryptionError, match="commitment"):
        decrypt_part_bytes(CTX, bytes(32), 1, STREAM)


def test_part_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        encrypt_part_bytes(CTX, KEY, 0, b"x")
    with pytest.raises(ValueError):
        encrypt_part_bytes(CTX, b"short", 1, b"x")
    with pytest.raises(ValueError):
        encrypt_part_bytes(CTX, KEY, 1, b"x", chunk_size=8)


def test_truncation_at_every_chunk_boundary_fails() -> None:
    chunks = _chunks_of(STREAM, CHUNK)
    for keep in range(len(chunks)):
        cut = STREAM[:PREFIX_BYTES] + b"".join(chunks[:keep])
        with pytest.raises(DecryptionError, match="truncated"):
            decrypt_part_bytes(CTX, KEY, 1, cut)


def test_every_truncation_fails() -> None:
    for cut in range(1, len(STREAM)):
        with pytest.raises(DecryptionError):
            decrypt_part_bytes(CTX, KEY, 1, STREAM[:cut])


def test_trailing_bytes_after_final_fail() -> None:
    with pytest.raises(DecryptionError, match="trailing"):
        decrypt_part_bytes(CTX, KEY, 1, STREAM + b"\x00")


def test_dropped_or_reordered_chunks_fail() -> None:
    chunks = _chunks_of(STREAM, CHUNK)
    prefix = STREAM[:PREFIX_BYTES]
    for variant in (chunks[1:], [chunks[1], chunks[0], *chunks[2:]], chunks[:1] + chunks[2:]):
        with pytest.raises(DecryptionError):
            decrypt_part_bytes(CTX, KEY, 1, prefix + b"".join(variant))


def _stream_with_tags(tags: list[int], chunk: int = 16) -> bytes:
    """A correctly keyed stream with arbitrary tags, to test the reader's tag rules."""
    header = seeded_rng(b"tags")(24)
    state = _push_state(part_subkey(KEY, 1), header)
    ad = _associated_data(CTX, 1, chunk, key_commitment(KEY))
    prefix = b"HLPT\x01\x01" + (1).to_bytes(4, "big") + chunk.to_bytes(4, "big")
    out = prefix + key_commitment(KEY) + header
    for i, tag in enumerate(tags):
        plain = b"\x80" + bytes(chunk - 1) if i == len(tags) - 1 else bytes(chunk)
        out += sodium.crypto_secretstream_xchacha20poly1305_push(state, plain, ad, tag)
    return out


def test_reader_tag_rules() -> None:
    message = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
    final = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
    push = sodium.crypto_secretstream_xchacha20poly1305_TAG_PUSH
    good = [message] * 15 + [final]  # 16 chunks x 16 bytes = 256 = bucket of 0..255 bytes
    assert decrypt_part_bytes(CTX, KEY, 1, _stream_with_tags(good)) == bytes(15 * 16)
    with pytest.raises(DecryptionError, match="trailing"):  # FINAL mid-stream
        decrypt_part_bytes(CTX, KEY, 1, _stream_with_tags([message] * 3 + [final] + good[4:]))
    with pytest.raises(DecryptionError, match="truncated"):  # no FINAL at all
        decrypt_part_bytes(CTX, KEY, 1, _stream_with_tags([message] * 16))
    with pytest.raises(DecryptionError, match="tag"):
        decrypt_part_bytes(CTX, KEY, 1, _stream_with_tags([push] * 15 + [final]))


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@settings(max_examples=200, deadline=None)
@given(bit=st.integers(0, len(STREAM) * 8 - 1))
def test_any_flipped_bit_fails_loudly(bit: int) -> None:
    expected = UnsupportedFormat if bit < 48 else DecryptionError
    with pytest.raises(expected):
        decrypt_part_bytes(CTX, KEY, 1, _flip(STREAM, bit))


def test_every_flipped_bit_fails() -> None:
    for bit in range(len(STREAM) * 8):
        with pytest.raises(CryptoError):
            decrypt_part_bytes(CTX, KEY, 1, _flip(STREAM, bit))


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=3000), chunk=st.integers(16, 700), part=st.integers(1, 2**32 - 1))
def test_round_trip_property(data: bytes, chunk: int, part: int) -> None:
    stream = encrypt_part_bytes(CTX, KEY, part, data, chunk_size=chunk)
    assert decrypt_part_bytes(CTX, KEY, part, stream) == data


def test_padding_hides_sizes_within_a_bucket() -> None:
    sizes = {len(encrypt_part_bytes(CTX, KEY, 1, bytes(n))) for n in (300, 400, 511)}
    assert len(sizes) == 1


def test_push_from_pulled_state_equals_init_push() -> None:
    """Guards the rng-injection trick: init_pull(header) + push == init_push + push."""
    key = part_subkey(KEY, 1)
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    mine = _push_state(key, header)
    for tag in (0, 0, sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL):
        assert sodium.crypto_secretstream_xchacha20poly1305_push(
            state, b"chunk", b"ad", tag
        ) == sodium.crypto_secretstream_xchacha20poly1305_push(mine, b"chunk", b"ad", tag)


class _Zeros(io.RawIOBase):
    """A large source that is never held in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


class _Sink(io.RawIOBase):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.keep = False
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.count += len(data)
        if self.keep:
            self.buf += data
        return len(data)


def test_memory_stays_flat_for_large_streams() -> None:
    size = 8 * 1024 * 1024
    tracemalloc.start()
    try:
        sink = _Sink()
        written = encrypt_part(CTX, KEY, 1, _Zeros(size), sink)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == sink.count > size
    assert peak < 1024 * 1024
