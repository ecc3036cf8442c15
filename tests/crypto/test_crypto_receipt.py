"""Receipt-derived lookup id and reply key (CRYPTO.md §1, 2)."""

from __future__ import annotations

import pytest

from crypto import (
    EnvelopeContext,
    Identity,
    NotARecipient,
    ReplyKeyPair,
    derive_receipt_keys,
    open_envelope,
    seal,
)
from crypto.kdf import labelled_prf

ENTROPY = bytes(range(16))


def test_deterministic_and_label_separated() -> None:
    keys = derive_receipt_keys(ENTROPY)
    assert keys == derive_receipt_keys(ENTROPY)
    assert keys.lookup_id == labelled_prf(ENTROPY, "receipt-lookup")
    assert len(keys.lookup_id) == 32
    assert keys.lookup_id != labelled_prf(ENTROPY, "receipt-reply-seed")
    assert ReplyKeyPair.from_seed(labelled_prf(ENTROPY, "receipt-reply-seed")) == keys.reply
    other = derive_receipt_keys(bytes(range(1, 17)))
    assert other.lookup_id != keys.lookup_id
    assert other.reply.box_public != keys.reply.box_public


def test_entropy_must_be_at_least_128_bits() -> None:
    with pytest.raises(ValueError):
        derive_receipt_keys(bytes(15))
    derive_receipt_keys(bytes(32))


def test_reply_key_opens_replies_sealed_to_it() -> None:
    reply = derive_receipt_keys(ENTROPY).reply
    advocate = Identity.generate("Advocate")
    ctx = EnvelopeContext("inst", "tip-1", "msg-9", "out", "web")
    envelope = seal(ctx, b"We can help.", [reply.recipient(), advocate.recipient()]).envelope
    assert open_envelope(envelope, reply, expected=ctx).body == b"We can help."
    inbound = seal(ctx, b"reporter text", [advocate.recipient()]).envelope
    with pytest.raises(NotARecipient):
        open_envelope(inbound, reply)


def test_fingerprint_distinct_and_repr_hides_secrets() -> None:
    keys = derive_receipt_keys(ENTROPY)
    assert keys.reply.fingerprint != Identity.generate("x").fingerprint
    for text in (repr(keys), repr(keys.reply)):
        assert keys.lookup_id.hex() not in text
        assert keys.reply.box_secret.hex() not in text
        assert repr(keys.reply.box_secret) not in text
