"""Key files: round trip, passphrase handling, strict parsing, parameter bounds, tampering."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    LAPTOP,
    PHONE,
    TESTING,
    Identity,
    KdfParams,
    KeyFileError,
    WrongPassphrase,
    decrypt_identity,
    encrypt_identity,
    read_kdf_params,
)
from crypto.keyfile import HEADER_BYTES, _checksum
from crypto.testing import seeded_rng

ALICE = Identity.generate("Alice Ñandú", rng=seeded_rng(b"kf-alice"))
PASSPHRASE = "correct horse battery staple océano"
KEYFILE = encrypt_identity(ALICE, PASSPHRASE, TESTING, rng=seeded_rng(b"kf"))
GiB = 1024**3


def _with_header(data: bytes, offset: int, value: bytes) -> bytes:
    """Patch header bytes and re-seal the corruption checksum (as an attacker could)."""
    out = bytearray(data)
    out[offset : offset + len(value)] = value
    out[HEADER_BYTES : HEADER_BYTES + 16] = _checksum(bytes(out[:HEADER_BYTES]))
    return bytes(out)


def test_round_trip() -> None:
    restored = decrypt_identity(KEYFILE, PASSPHRASE)
    assert restored == ALICE
    assert restored.fingerprint == ALICE.fingerprint
    assert read_kdf_params(KEYFILE) == TESTING


def test_presets() -> None:
    assert (LAPTOP.opslimit, LAPTOP.memlimit) == (3, 256 * 1024 * 1024)
    assert (PHONE.opslimit, PHONE.memlimit) == (3, 64 * 1024 * 1024)
    assert (TESTING.opslimit, TESTING.memlimit) == (1, 8 * 1024 * 1024)


def test_wrong_passphrase() -> None:
    for wrong in ("", "correct horse battery staple oceano", PASSPHRASE + " "):
        with pytest.raises(WrongPassphrase):
            decrypt_identity(KEYFILE, wrong)


def test_passphrase_is_nfc_normalised() -> None:
    nfd = unicodedata.normalize("NFD", PASSPHRASE)
    assert nfd != PASSPHRASE
    assert decrypt_identity(KEYFILE, nfd) == ALICE


def test_empty_passphrase_refused_when_writing() -> None:
    with pytest.raises(ValueError):
        encrypt_identity(ALICE, "", TESTING)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not a Hotline key file"),
        (b"hello world, this is not a key", "not a Hotline key file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "not a Hotline key file"),
        (b"HLKF", "truncated"),
        (b"HLKF\x02\x01" + bytes(200), "unsupported key file version 2"),
        (b"HLKF\x01\x07" + bytes(200), "unsupported key file suite 7"),
    ],
)
def test_garbage_gives_a_specific_reason(data: bytes, reason: str) -> None:
    with pytest.raises(KeyFileError) as info:
        decrypt_identity(data, PASSPHRASE)
    assert not isinstance(info.value, WrongPassphrase)
    assert info.value.reason == reason
    with pytest.raises(KeyFileError):
        read_kdf_params(data)


def test_every_truncation_is_refused_before_argon2() -> None:
    for cut in range(len(KEYFILE)):
        with pytest.raises(KeyFileError):
            read_kdf_params(KEYFILE[:cut])


def test_trailing_bytes_refused() -> None:
    with pytest.raises(KeyFileError, match="trailing"):
        decrypt_identity(KEYFILE + b"\x00", PASSPHRASE)


def test_memlimit_above_one_gib_refused() -> None:
    data = _with_header(KEYFILE, 10, (GiB + 1024).to_bytes(8, "big"))
    with pytest.raises(KeyFileError, match="Argon2id memory limit too large"):
        read_kdf_params(data)
    with pytest.raises(KeyFileError, match="Argon2id memory limit too large"):
        decrypt_identity(data, PASSPHRASE)
    with pytest.raises(ValueError):
        KdfParams(3, 2 * GiB)


def test_parameters_below_minimum_or_absurd_refused() -> None:
    for offset, value in ((6, (0).to_bytes(4, "big")), (10, (1024).to_bytes(8, "big"))):
        with pytest.raises(KeyFileError, match="minimum"):
            read_kdf_params(_with_header(KEYFILE, offset, value))
    with pytest.raises(KeyFileError, match="operations limit"):
        read_kdf_params(_with_header(KEYFILE, 6, (10**6).to_bytes(4, "big")))


def test_weakening_parameters_is_detected() -> None:
    """The header is AD: lowering the cost (checksum re-sealed) cannot go unnoticed."""
    other = KEYFILE
    other = _with_header(other, 10, (16 * 1024 * 1024).to_bytes(8, "big"))
    with pytest.raises(KeyFileError):
        decrypt_identity(other, PASSPHRASE)


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@settings(max_examples=120, deadline=None)
@given(bit=st.integers(0, len(KEYFILE) * 8 - 1))
def test_any_flipped_bit_fails_loudly(bit: int) -> None:
    with pytest.raises(KeyFileError):
        decrypt_identity(_flip(KEYFILE, bit), PASSPHRASE)


def test_every_header_bit_flip_is_caught_without_running_argon2() -> None:
    for bit in range((HEADER_BYTES + 16) * 8):
        with pytest.raises(KeyFileError):
            read_kdf_params(_flip(KEYFILE, bit))


def test_fresh_salt_and_nonce() -> None:
    assert encrypt_identity(ALICE, PASSPHRASE, TESTING) != encrypt_identity(
        ALICE, PASSPHRASE, TESTING
    )
