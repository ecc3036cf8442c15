"""At-rest wrapping for crypto-shredding (CRYPTO.md §13)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import DecryptionError, UnsupportedFormat, new_storage_key, unwrap, wrap
from crypto.testing import seeded_rng

KEY = new_storage_key(rng=seeded_rng(b"atrest-key"))
WRAPPED = wrap(KEY, b"an envelope", label="tip-1", rng=seeded_rng(b"atrest"))


def test_round_trip_and_fresh_nonces() -> None:
    assert unwrap(KEY, WRAPPED, label="tip-1") == b"an envelope"
    assert wrap(KEY, b"x", label="tip-1") != wrap(KEY, b"x", label="tip-1")
    assert unwrap(KEY, wrap(KEY, b"", label="t"), label="t") == b""
    assert len(new_storage_key()) == 32 and new_storage_key() != new_storage_key()


def test_label_and_key_are_bound() -> None:
    with pytest.raises(DecryptionError):
        unwrap(KEY, WRAPPED, label="tip-2")
    with pytest.raises(DecryptionError):
        unwrap(new_storage_key(), WRAPPED, label="tip-1")


def test_versions_truncation_trailing() -> None:
    with pytest.raises(UnsupportedFormat):
        unwrap(KEY, WRAPPED[:4] + b"\x02" + WRAPPED[5:], label="tip-1")
    with pytest.raises(UnsupportedFormat):
        unwrap(KEY, b"garbage-garbage-garbage-garbage-garbage-garbage", label="tip-1")
    for cut in range(1, len(WRAPPED)):
        with pytest.raises(DecryptionError):
            unwrap(KEY, WRAPPED[:cut], label="tip-1")
    with pytest.raises(DecryptionError):
        unwrap(KEY, WRAPPED + b"\x00", label="tip-1")


def test_argument_checks() -> None:
    with pytest.raises(ValueError):
        wrap(b"short", b"x", label="tip-1")
    with pytest.raises(ValueError):
        wrap(KEY, b"x", label="")


@settings(max_examples=200, deadline=None)
@given(bit=st.integers(0, len(WRAPPED) * 8 - 1))
def test_any_flipped_bit_fails_loudly(bit: int) -> None:
    data = bytearray(WRAPPED)
    data[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(UnsupportedFormat if bit < 48 else DecryptionError):
        unwrap(KEY, bytes(data), label="tip-1")
