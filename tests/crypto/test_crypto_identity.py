"""Identities, purpose-labelled signatures and .pub files."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    BadSignature,
    CryptoError,
    Identity,
    InvalidPublicKey,
    PublicIdentity,
    fingerprint_of,
    is_fingerprint,
)
from crypto.identity import BINDING_PURPOSE, _binding_blob
from crypto.testing import seeded_rng

ALICE = Identity.generate("Alice Ávila", rng=seeded_rng(b"id-alice"))
BOB = Identity.generate("Bob", rng=seeded_rng(b"id-bob"))
PUB = ALICE.to_pub_file()


def test_generate_uses_rng_and_derives_public_keys() -> None:
    again = Identity.generate("Alice Ávila", rng=seeded_rng(b"id-alice"))
    assert again == ALICE
    assert ALICE.public.box_public == ALICE.box_public
    assert ALICE.fingerprint == fingerprint_of(ALICE.box_public, ALICE.public.sign_public)
    assert is_fingerprint(ALICE.fingerprint)
    assert ALICE.recipient().fingerprint == ALICE.public.recipient().fingerprint


def test_repr_never_shows_secrets() -> None:
    text = repr(ALICE)
    assert ALICE.fingerprint in text
    for secret in (ALICE.box_secret, ALICE.sign_seed):
        assert secret.hex() not in text
        assert repr(secret) not in text


def test_signatures_are_bound_to_their_purpose() -> None:
    signature = ALICE.sign("handoff-approval", b"tip-1")
    ALICE.public.verify("handoff-approval", b"tip-1", signature)
    for purpose, message in (("other-purpose", b"tip-1"), ("handoff-approval", b"tip-2")):
        with pytest.raises(BadSignature):
            ALICE.public.verify(purpose, message, signature)
    with pytest.raises(BadSignature):
        BOB.public.verify("handoff-approval", b"tip-1", signature)
    with pytest.raises(BadSignature):
        ALICE.public.verify("handoff-approval", b"tip-1", signature[:-1])
    with pytest.raises(ValueError):
        ALICE.sign("", b"x")


def test_purpose_and_message_do_not_run_together() -> None:
    signature = ALICE.sign("ab", b"c")
    with pytest.raises(BadSignature):
        ALICE.public.verify("a", b"bc", signature)


def test_pub_file_round_trip() -> None:
    text = PUB.decode("utf-8")
    assert text.startswith("hotline-public-key-v1\nname: Alice Ávila\nfingerprint: ")
    loaded = PublicIdentity.from_pub_file(PUB)
    assert loaded == ALICE.public
    assert loaded.fingerprint == ALICE.fingerprint
    assert loaded.to_pub_file() == PUB


def test_pub_file_tolerates_crlf_and_blank_lines_and_missing_info_lines() -> None:
    lines = PUB.decode().splitlines()
    assert PublicIdentity.from_pub_file("\r\n".join(lines).encode() + b"\r\n\r\n") == ALICE.public
    minimal = f"{lines[0]}\n{lines[-1]}\n".encode()
    assert PublicIdentity.from_pub_file(minimal) == ALICE.public


def _pub_with(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda ls: ["hotline-public-key-v2", *ls[1:]], "unsupported public key file version"),
        (lambda ls: ["ssh-ed25519 AAAA", *ls[1:]], "not a Hotline public key file"),
        (lambda ls: [ls[0], ls[1], "fingerprint: " + BOB.fingerprint, ls[3]], "fingerprint line"),
        (lambda ls: [ls[0], "name: Mallory", ls[2], ls[3]], "name line"),
        (lambda ls: [ls[0], "comment: hi", ls[3]], "unexpected line"),
        (lambda ls: [*ls[:3], ls[3][:-4]], "truncated"),
        (lambda ls: [*ls[:3], ls[3][:-1]], "base64"),
        (lambda ls: [*ls[:3], ls[3] + "!"], "base64"),
        (lambda ls: ls[:1], "truncated"),
    ],
)
def test_pub_file_rejections(mutate: Callable[[list[str]], list[str]], reason: str) -> None:
    lines = PUB.decode().splitlines()
    with pytest.raises(InvalidPublicKey, match=reason):
        PublicIdentity.from_pub_file(_pub_with(mutate(lines)))


def _blob_line(blob: bytes) -> bytes:
    lines = PUB.decode().splitlines()
    return _pub_with([lines[0], base64.b64encode(blob).decode()])


def test_swapped_box_key_breaks_the_self_signature() -> None:
    """A server pairing Alice's signing key with its own box key is caught (CRYPTO.md §3)."""
    blob = _binding_blob(ALICE.name, BOB.box_public, ALICE.public.sign_public)
    signature = ALICE.sign(BINDING_PURPOSE, _binding_blob(ALICE.name, *_keys(ALICE)))
    with pytest.raises(InvalidPublicKey, match="self-signature"):
        PublicIdentity.from_pub_file(_blob_line(blob + signature))
    bob_signed = BOB.sign(BINDING_PURPOSE, blob)
    with pytest.raises(InvalidPublicKey, match="self-signature"):
        PublicIdentity.from_pub_file(_blob_line(blob + bob_signed))


def _keys(identity: Identity) -> tuple[bytes, bytes]:
    return identity.box_public, identity.public.sign_public


def test_low_order_box_key_refused() -> None:
    class Weak(Identity):
        @property
        def box_public(self) -> bytes:
            return bytes(32)

    weak = Weak("Weak", ALICE.box_secret, ALICE.sign_seed)
    blob = _binding_blob("Weak", bytes(32), ALICE.public.sign_public)
    line = _blob_line(blob + weak.sign(BINDING_PURPOSE, blob))
    with pytest.raises(InvalidPublicKey, match="low-order"):
        PublicIdentity.from_pub_file(line)


@settings(max_examples=150, deadline=None)
@given(index=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_flipped_bit_in_key_data_is_refused(index: int, bit: int) -> None:
    lines = PUB.decode().splitlines()
    raw = bytearray(base64.b64decode(lines[-1]))
    raw[index % len(raw)] ^= 1 << bit
    with pytest.raises(InvalidPublicKey):
        PublicIdentity.from_pub_file(_blob_line(bytes(raw)))


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300))
def test_garbage_pub_files_only_raise_invalid_public_key(data: bytes) -> None:
    with pytest.raises(InvalidPublicKey):
        PublicIdentity.from_pub_file(data)


def test_public_identity_without_signature_cannot_export() -> None:
    bare = PublicIdentity(ALICE.name, ALICE.box_public, ALICE.public.sign_public)
    assert bare == ALICE.public  # the signature is not part of identity equality
    with pytest.raises(ValueError):
        bare.to_pub_file()
    with pytest.raises(InvalidPublicKey):
        PublicIdentity(ALICE.name, ALICE.box_public, ALICE.public.sign_public, bytes(64))


@pytest.mark.parametrize("name", ["", " Alice", "Al\nice", "A\u202eb", "x" * 129])
def test_names_are_checked(name: str) -> None:
    with pytest.raises(ValueError):
        Identity.generate(name)


def test_errors_are_crypto_errors() -> None:
    assert issubclass(InvalidPublicKey, CryptoError)
    assert issubclass(BadSignature, CryptoError)
