"""Login challenge signatures (CRYPTO.md §9)."""

from __future__ import annotations

import struct

import pytest

from crypto import BadSignature, Identity, login_message, sign_login, verify_login
from crypto.testing import seeded_rng

ALICE = Identity.generate("Alice", rng=seeded_rng(b"auth-alice"))
BOB = Identity.generate("Bob", rng=seeded_rng(b"auth-bob"))
NONCE = bytes(range(32))
ARGS = ("https://hotline.example.org", "inst-1", ALICE.fingerprint, NONCE, 1_700_000_000)


def _lp(field: bytes) -> bytes:
    return struct.pack(">I", len(field)) + field


def test_exact_message_bytes() -> None:
    origin, instance, fpr, nonce, expires = ARGS
    expected = (
        b"hotline-auth-v1\x00"
        + _lp(origin.encode())
        + _lp(instance.encode())
        + _lp(fpr.encode())
        + _lp(nonce)
        + _lp(struct.pack(">Q", expires))
    )
    assert login_message(*ARGS) == expected


def test_sign_and_verify() -> None:
    signature = sign_login(ALICE, *ARGS)
    verify_login(ALICE.public, signature, *ARGS)


@pytest.mark.parametrize(
    "index, value",
    [(0, "https://evil.example"), (1, "inst-2"), (3, bytes(32)), (4, 1_700_000_001)],
)
def test_any_changed_field_fails(index: int, value: object) -> None:
    signature = sign_login(ALICE, *ARGS)
    args = list(ARGS)
    args[index] = value
    with pytest.raises(BadSignature):
        verify_login(ALICE.public, signature, *args)  # type: ignore[arg-type]


def test_fingerprint_must_be_the_keys_own() -> None:
    claimed = sign_login(ALICE, ARGS[0], ARGS[1], BOB.fingerprint, NONCE, ARGS[4])
    for public in (ALICE.public, BOB.public):
        with pytest.raises(BadSignature):
            verify_login(public, claimed, ARGS[0], ARGS[1], BOB.fingerprint, NONCE, ARGS[4])
    signature = sign_login(ALICE, *ARGS)
    with pytest.raises(BadSignature):
        verify_login(BOB.public, signature, ARGS[0], ARGS[1], BOB.fingerprint, NONCE, ARGS[4])
    with pytest.raises(BadSignature):
        verify_login(BOB.public, signature, *ARGS)


def test_malformed_network_input_is_bad_signature_not_value_error() -> None:
    signature = sign_login(ALICE, *ARGS)
    with pytest.raises(BadSignature):
        verify_login(ALICE.public, signature, ARGS[0], ARGS[1], ARGS[2], b"short", ARGS[4])
    with pytest.raises(BadSignature):
        verify_login(ALICE.public, signature, ARGS[0], ARGS[1], ARGS[2], NONCE, -1)
    with pytest.raises(BadSignature):
        verify_login(ALICE.public, b"\x00" * 10, *ARGS)


def test_login_and_purpose_signatures_do_not_cross() -> None:
    message = login_message(*ARGS)
    general = ALICE.sign("login", message)
    with pytest.raises(BadSignature):
        verify_login(ALICE.public, general, *ARGS)
    login = sign_login(ALICE, *ARGS)
    with pytest.raises(BadSignature):
        ALICE.public.verify("login", message, login)


def test_login_message_validation() -> None:
    with pytest.raises(ValueError):
        login_message("", "inst", ALICE.fingerprint, NONCE, 1)
    with pytest.raises(ValueError):
        login_message("o", "inst", "nope", NONCE, 1)
    with pytest.raises(ValueError):
        login_message("o", "inst", ALICE.fingerprint, NONCE, 2**64)
