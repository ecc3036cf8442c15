"""Envelope: round trips, binding to context, recipients, tampering, versions, padding."""

from __future__ import annotations

import nacl.bindings
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    CryptoError,
    DecryptionError,
    EnvelopeContext,
    Identity,
    NotARecipient,
    Recipient,
    UnsupportedFormat,
    decrypt_part_bytes,
    encrypt_part_bytes,
    open_envelope,
    padded_length,
    read_header,
    reseal,
    seal,
)
from crypto._sealedbox import open_box, seal_box
from crypto.envelope import _parse
from crypto.testing import seeded_rng

ALICE = Identity.generate("Alice", rng=seeded_rng(b"t-alice"))
BOB = Identity.generate("Bob", rng=seeded_rng(b"t-bob"))
CAROL = Identity.generate("Carol", rng=seeded_rng(b"t-carol"))
MALLORY = Identity.generate("Mallory", rng=seeded_rng(b"t-mallory"))
CTX = EnvelopeContext("inst-1", "tip-1", "msg-1", "in", "web")
BODY = b"I need help; my number is +15551234567"
SEALED = seal(CTX, BODY, [ALICE.recipient(), BOB.recipient()], rng=seeded_rng(b"t-env"))
ENVELOPE = SEALED.envelope
PREAMBLE = 6  # magic (4) + version + suite


def test_round_trip_for_every_recipient() -> None:
    for holder in (ALICE, BOB):
        opened = open_envelope(ENVELOPE, holder, expected=CTX)
        assert opened.body == BODY
        assert opened.context == CTX
        assert opened.message_key == SEALED.message_key
        assert set(opened.recipients) == {ALICE.fingerprint, BOB.fingerprint}


def test_empty_and_large_bodies() -> None:
    for body in (b"", b"x" * 70000):
        sealed = seal(CTX, body, [ALICE.recipient()])
        assert open_envelope(sealed.envelope, ALICE).body == body


def test_fresh_key_and_nonce_every_time() -> None:
    one = seal(CTX, BODY, [ALICE.recipient()])
    two = seal(CTX, BODY, [ALICE.recipient()])
    assert one.message_key != two.message_key
    assert one.envelope != two.envelope


def test_non_recipient_gets_not_a_recipient() -> None:
    with pytest.raises(NotARecipient):
        open_envelope(ENVELOPE, CAROL)


def test_wrong_secret_under_a_listed_fingerprint_fails() -> None:
    class Impostor:
        fingerprint = ALICE.fingerprint
        box_public = MALLORY.box_public
        box_secret = MALLORY.box_secret

    with pytest.raises(DecryptionError) as info:
        open_envelope(ENVELOPE, Impostor())
    assert not isinstance(info.value, NotARecipient)


@pytest.mark.parametrize(
    "field",
    ["instance_id", "tip_id", "message_id", "direction", "channel"],
)
def test_expected_context_must_match(field: str) -> None:
    other = {
        "instance_id": "inst-2",
        "tip_id": "tip-2",
        "message_id": "msg-2",
        "direction": "out",
        "channel": "sms",
    }[field]
    expected = EnvelopeContext(**{**CTX.__dict__, field: other})
    with pytest.raises(DecryptionError, match="different tip/message"):
        open_envelope(ENVELOPE, ALICE, expected=expected)


def test_splicing_into_another_tip_fails_authentication() -> None:
    spliced = ENVELOPE.replace(b"tip-1", b"tip-2", 1)
    assert read_header(spliced).context.tip_id == "tip-2"  # parses: the header is not trusted
    with pytest.raises(DecryptionError, match="authentication failed"):
        open_envelope(spliced, ALICE)
    expected = EnvelopeContext(**{**CTX.__dict__, "tip_id": "tip-2"})
    with pytest.raises(DecryptionError):
        open_envelope(spliced, ALICE, expected=expected)


def test_read_header_reports_context_and_recipients() -> None:
    header = read_header(ENVELOPE)
    assert header.context == CTX
    assert (header.version, header.suite) == (1, 1)
    assert set(header.recipients) == {ALICE.fingerprint, BOB.fingerprint}
    assert list(header.recipients) == list(open_envelope(ENVELOPE, BOB).recipients)


@pytest.mark.parametrize("cut", [0, 1, 3, 4, 5, 6, 7, 40, len(ENVELOPE) // 2, len(ENVELOPE) - 1])
def test_truncation_fails(cut: int) -> None:
    with pytest.raises(CryptoError):
        open_envelope(ENVELOPE[:cut], ALICE)
    with pytest.raises(CryptoError):
        read_header(ENVELOPE[:cut])


def test_every_truncation_beyond_the_preamble_is_a_decryption_error() -> None:
    for cut in range(1, len(ENVELOPE)):
        with pytest.raises(DecryptionError):
            read_header(ENVELOPE[:cut])


def test_trailing_bytes_fail() -> None:
    with pytest.raises(DecryptionError, match="trailing"):
        open_envelope(ENVELOPE + b"\x00", ALICE)
    with pytest.raises(DecryptionError, match="trailing"):
        read_header(ENVELOPE + b"junk")


@pytest.mark.parametrize(("offset", "value"), [(4, 0), (4, 2), (4, 255), (5, 0), (5, 2)])
def test_unknown_version_or_suite_is_unsupported(offset: int, value: int) -> None:
    data = bytearray(ENVELOPE)
    data[offset] = value
    with pytest.raises(UnsupportedFormat):
        open_envelope(bytes(data), ALICE)
    with pytest.raises(UnsupportedFormat):
        read_header(bytes(data))


def test_bad_magic_is_unsupported() -> None:
    for garbage in (b"HLEX" + ENVELOPE[4:], b"PK\x03\x04" + bytes(100), b"\x00" * 10):
        with pytest.raises(UnsupportedFormat):
            open_envelope(garbage, ALICE)


def _expected_flip_error(bit: int) -> type[CryptoError]:
    return UnsupportedFormat if bit // 8 < PREAMBLE else DecryptionError


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@settings(max_examples=200, deadline=None)
@given(bit=st.integers(0, len(ENVELOPE) * 8 - 1), holder=st.sampled_from([ALICE, BOB]))
def test_any_flipped_bit_fails_loudly(bit: int, holder: Identity) -> None:
    with pytest.raises(_expected_flip_error(bit)):
        open_envelope(_flip(ENVELOPE, bit), holder)


def test_every_flipped_bit_fails_for_every_recipient() -> None:
    """Exhaustive: each recipient's copy is bound to every byte, incl. the others' stanzas."""
    for bit in range(len(ENVELOPE) * 8):
        for holder in (ALICE, BOB):
            with pytest.raises(_expected_flip_error(bit)):
                open_envelope(_flip(ENVELOPE, bit), holder)


def test_recipients_deduplicated_and_required() -> None:
    sealed = seal(CTX, BODY, [ALICE.recipient(), ALICE.public.recipient(), BOB.recipient()])
    assert len(read_header(sealed.envelope).recipients) == 2
    with pytest.raises(ValueError, match="at least one"):
        seal(CTX, BODY, [])
    clash = Recipient(ALICE.fingerprint, BOB.box_public)
    with pytest.raises(ValueError, match="under one fingerprint"):
        seal(CTX, BODY, [ALICE.recipient(), clash])


def test_recipient_validation() -> None:
    with pytest.raises(ValueError):
        Recipient("not-a-fingerprint", ALICE.box_public)
    with pytest.raises(ValueError):
        Recipient(ALICE.fingerprint, b"short")
    low_order = Recipient(ALICE.fingerprint, bytes(32))
    with pytest.raises(ValueError, match="not usable"):
        seal(CTX, BODY, [low_order])


def test_context_validation() -> None:
    for bad in (
        {"direction": "sideways"},
        {"channel": "fax"},
        {"tip_id": ""},
        {"message_id": "x" * 256},
        {"instance_id": "\ud800"},
    ):
        with pytest.raises(ValueError):
            EnvelopeContext(**{**CTX.__dict__, **bad})


def test_rng_output_is_checked() -> None:
    with pytest.raises(ValueError, match="rng"):
        seal(CTX, BODY, [ALICE.recipient()], rng=lambda n: b"\x00" * (n - 1))


def test_reseal_hands_off_and_keeps_attachments_readable() -> None:
    attachment = encrypt_part_bytes(CTX, SEALED.message_key, 1, b"photo bytes" * 1000)
    handed = reseal(ENVELOPE, ALICE, [BOB.recipient(), CAROL.recipient()])
    opened = open_envelope(handed, CAROL, expected=CTX)
    assert opened.body == BODY
    assert opened.message_key == SEALED.message_key
    assert set(opened.recipients) == {BOB.fingerprint, CAROL.fingerprint}
    assert decrypt_part_bytes(CTX, opened.message_key, 1, attachment) == b"photo bytes" * 1000
    with pytest.raises(NotARecipient):
        open_envelope(handed, ALICE)
    assert _parse(handed).nonce != _parse(ENVELOPE).nonce


def test_reseal_requires_being_a_recipient_and_new_recipients() -> None:
    with pytest.raises(NotARecipient):
        reseal(ENVELOPE, CAROL, [CAROL.recipient()])
    with pytest.raises(ValueError):
        reseal(ENVELOPE, ALICE, [])


@settings(max_examples=100, deadline=None)
@given(a=st.integers(0, 2000), b=st.integers(0, 2000))
def test_padding_hides_lengths_within_a_bucket(a: int, b: int) -> None:
    one = seal(CTX, b"a" * a, [ALICE.recipient()]).envelope
    two = seal(CTX, b"b" * b, [ALICE.recipient()]).envelope
    assert (len(one) == len(two)) == (padded_length(a) == padded_length(b))


def test_sealed_box_matches_libsodium_both_ways() -> None:
    public, secret = nacl.bindings.crypto_box_keypair()
    ours = seal_box(b"k" * 32, public, seeded_rng(b"box"))
    assert nacl.bindings.crypto_box_seal_open(ours, public, secret) == b"k" * 32
    theirs = nacl.bindings.crypto_box_seal(b"k" * 32, public)
    assert open_box(theirs, public, secret) == b"k" * 32


def test_reprs_never_show_secrets() -> None:
    opened = open_envelope(ENVELOPE, ALICE)
    for text in (repr(opened), repr(SEALED)):
        assert "+1555" not in text
        assert SEALED.message_key.hex() not in text
        assert repr(SEALED.message_key) not in text
