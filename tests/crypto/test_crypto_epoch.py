"""Epoch keys: tip keys wrapped under a rotating key, and the epoch key file format."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import DecryptionError, UnsupportedFormat
from crypto.epoch import (
    WRAPPED_BYTES,
    EpochFileError,
    decode_epoch_file,
    encode_epoch_file,
    new_epoch_id,
    new_epoch_key,
    unwrap_tip_key,
    wrap_tip_key,
)
from crypto.testing import seeded_rng

EPOCH = new_epoch_key(rng=seeded_rng(b"epoch-key"))
EID = "0123456789abcdef"
TIP_KEY = bytes(range(32))
WRAPPED = wrap_tip_key(EPOCH, TIP_KEY, epoch_id=EID, tip_id="tip-1", rng=seeded_rng(b"epoch"))

ids = st.text(alphabet="0123456789abcdef", min_size=16, max_size=16)
tips = st.text(min_size=1, max_size=40)
keys = st.binary(min_size=32, max_size=32)


@settings(max_examples=100, deadline=None)
@given(epoch_key=keys, tip_key=keys, epoch_id=ids, tip_id=tips)
def test_round_trip_with_a_fixed_length(epoch_key: bytes, tip_key: bytes, epoch_id: str,
                                        tip_id: str) -> None:
    wrapped = wrap_tip_key(epoch_key, tip_key, epoch_id=epoch_id, tip_id=tip_id)
    assert len(wrapped) == WRAPPED_BYTES
    assert tip_key not in wrapped
    assert unwrap_tip_key(epoch_key, wrapped, epoch_id=epoch_id, tip_id=tip_id) == tip_key


@settings(max_examples=100, deadline=None)
@given(other_epoch=ids, other_tip=tips, other_key=keys)
def test_epoch_id_tip_id_and_key_are_all_bound(other_epoch: str, other_tip: str,
                                               other_key: bytes) -> None:
    if other_epoch != EID:
        with pytest.raises(DecryptionError):
            unwrap_tip_key(EPOCH, WRAPPED, epoch_id=other_epoch, tip_id="tip-1")
    if other_tip != "tip-1":
        with pytest.raises(DecryptionError):
            unwrap_tip_key(EPOCH, WRAPPED, epoch_id=EID, tip_id=other_tip)
    if other_key != EPOCH:
        with pytest.raises(DecryptionError):
            unwrap_tip_key(other_key, WRAPPED, epoch_id=EID, tip_id="tip-1")


@settings(max_examples=200, deadline=None)
@given(bit=st.integers(0, WRAPPED_BYTES * 8 - 1))
def test_any_flipped_bit_fails_loudly(bit: int) -> None:
    data = bytearray(WRAPPED)
    data[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(UnsupportedFormat if bit < 48 else DecryptionError):
        unwrap_tip_key(EPOCH, bytes(data), epoch_id=EID, tip_id="tip-1")


def test_truncated_or_longer_is_refused() -> None:
    for cut in range(1, WRAPPED_BYTES):
        with pytest.raises(DecryptionError):
            unwrap_tip_key(EPOCH, WRAPPED[:cut], epoch_id=EID, tip_id="tip-1")
    with pytest.raises(DecryptionError):
        unwrap_tip_key(EPOCH, WRAPPED + b"\x00", epoch_id=EID, tip_id="tip-1")


def test_argument_checks() -> None:
    with pytest.raises(ValueError):
        wrap_tip_key(b"short", TIP_KEY, epoch_id=EID, tip_id="t")
    with pytest.raises(ValueError):
        wrap_tip_key(EPOCH, b"short", epoch_id=EID, tip_id="t")
    with pytest.raises(ValueError):
        wrap_tip_key(EPOCH, TIP_KEY, epoch_id="../../etc", tip_id="t")
    with pytest.raises(ValueError):
        wrap_tip_key(EPOCH, TIP_KEY, epoch_id=EID, tip_id="")
    assert len(new_epoch_id()) == 16 and new_epoch_id() != new_epoch_id()
    assert len(new_epoch_key()) == 32 and new_epoch_key() != new_epoch_key()


@settings(max_examples=100, deadline=None)
@given(epoch_id=ids, key=keys)
def test_epoch_file_round_trip(epoch_id: str, key: bytes) -> None:
    assert decode_epoch_file(encode_epoch_file(epoch_id, key), epoch_id) == key


FILE = encode_epoch_file(EID, EPOCH)


@settings(max_examples=200, deadline=None)
@given(bit=st.integers(0, len(FILE) * 8 - 1))
def test_a_damaged_epoch_file_is_an_error_never_a_wrong_key(bit: int) -> None:
    data = bytearray(FILE)
    data[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(EpochFileError):
        decode_epoch_file(bytes(data), EID)


def test_epoch_file_truncated_extended_or_misnamed() -> None:
    for cut in range(len(FILE)):
        with pytest.raises(EpochFileError):
            decode_epoch_file(FILE[:cut], EID)
    with pytest.raises(EpochFileError):
        decode_epoch_file(FILE + b"\x00", EID)
    with pytest.raises(EpochFileError):
        decode_epoch_file(FILE, "fedcba9876543210")  # a file renamed to another epoch
