"""Subkeys, keyed hashes, fingerprints and padding, cross-checked against the stdlib."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import derive_subkey, fingerprint_of, is_fingerprint, keyed_hash, padded_length
from crypto.kdf import parse_fingerprint
from crypto.padding import pad, unpad

MASTER = bytes(range(32))


def test_derive_subkey_matches_documented_construction() -> None:
    label = "phone-thread"
    data = struct.pack(">I", len(label)) + label.encode()
    for length in (16, 32, 64):
        expected = hashlib.blake2b(
            data, key=MASTER, digest_size=length, person=b"hotline-kdf-v1"
        ).digest()
        assert derive_subkey(MASTER, label, length) == expected


def test_distinct_labels_and_lengths_give_independent_keys() -> None:
    keys = {derive_subkey(MASTER, label) for label in ("phone-thread", "rate-limit", "receipt")}
    assert len(keys) == 3
    assert derive_subkey(MASTER, "x", 16) != derive_subkey(MASTER, "x", 32)[:16]


def test_derive_subkey_input_checks() -> None:
    with pytest.raises(ValueError):
        derive_subkey(b"\x00" * 31, "label")
    with pytest.raises(ValueError):
        derive_subkey(b"\x00" * 65, "label")
    with pytest.raises(ValueError):
        derive_subkey(MASTER, "")
    with pytest.raises(ValueError):
        derive_subkey(MASTER, "label", 8)


def test_keyed_hash_is_plain_keyed_blake2b() -> None:
    number = b"+15551234567"
    assert (
        keyed_hash(MASTER, number) == hashlib.blake2b(number, key=MASTER, digest_size=32).digest()
    )
    with pytest.raises(ValueError):
        keyed_hash(b"short", number)


def test_fingerprint_format_and_construction() -> None:
    box, sign = bytes(range(32)), bytes(range(32, 64))
    fpr = fingerprint_of(box, sign)
    raw = hashlib.blake2b(box + sign, digest_size=20, person=b"hotline-fpr-v1").digest()
    assert fpr.replace("-", "") == base64.b32encode(raw).decode()
    assert len(fpr) == 39 and fpr.count("-") == 7
    assert is_fingerprint(fpr) and parse_fingerprint(fpr) == raw
    assert fingerprint_of(sign, box) != fpr
    for bad in (fpr.lower(), fpr.replace("-", ""), fpr[:-1] + "1", fpr + "-AAAA"):
        assert not is_fingerprint(bad)
        with pytest.raises(ValueError):
            parse_fingerprint(bad)


@pytest.mark.parametrize(
    ("n", "bucket"),
    [
        (0, 256),
        (255, 256),
        (256, 512),
        (511, 512),
        (512, 1024),
        (65535, 65536),
        (65536, 131072),
        (131071, 131072),
        (131072, 196608),
    ],
)
def test_padding_buckets(n: int, bucket: int) -> None:
    assert padded_length(n) == bucket


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=5000))
def test_pad_round_trip_and_canonical(data: bytes) -> None:
    padded = pad(data)
    assert len(padded) == padded_length(len(data))
    assert unpad(padded) == data
    assert unpad(padded + bytes(len(padded))) is None  # non-canonical bucket
