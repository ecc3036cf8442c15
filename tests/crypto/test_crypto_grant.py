"""Key grants (SPEC.md §10) and message signatures (§11): vectors, round trips, tampering."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crypto
from crypto import (
    BadSignature,
    DecryptionError,
    EnvelopeContext,
    Identity,
    InvalidGrant,
    UnsupportedFormat,
    check_grants,
    make_grant,
    open_envelope,
    open_granted,
    open_with_key,
    parse_grant,
    parse_signed,
    read_header,
    seal,
    sign_message,
    signed_body,
    verify_message,
)
from crypto.grant import GRANT_PURPOSE
from crypto.identity import BINDING_PURPOSE, signed_bytes
from crypto.signing import MESSAGE_PURPOSE, message_to_sign
from crypto.testing import seeded_rng

VECTORS = Path(crypto.__file__).resolve().parent / "vectors"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return data


def _ident(v: dict[str, Any]) -> Identity:
    return Identity(v["name"], bytes.fromhex(v["box_secret"]), bytes.fromhex(v["sign_seed"]))


GV = _load("grant.json")
IDS = {v["fingerprint"]: _ident(v) for v in GV["identities"]}
KEYS = {fp: i.public for fp, i in IDS.items()}
ENVELOPE = bytes.fromhex(GV["envelope"])
GRANTS = [bytes.fromhex(g["grant"]) for g in GV["grants"]]
CTX = EnvelopeContext(**GV["context"])


def test_grant_vectors_replay_and_open() -> None:
    for g, raw in zip(GV["grants"], GRANTS, strict=True):
        grantor, grantee = IDS[g["grantor"]], IDS[g["grantee"]]
        parsed = parse_grant(raw)
        assert parsed.signed_part().hex() == g["signed_part"]
        assert (parsed.grantor, parsed.grantee, parsed.context) == (g["grantor"], g["grantee"], CTX)
        opened = (open_envelope(ENVELOPE, grantor) if grantor.fingerprint in
                  read_header(ENVELOPE).recipients else
                  open_granted(ENVELOPE, grantor, GRANTS, KEYS).opened)
        again = make_grant(opened, grantor, grantee.recipient(),
                           rng=seeded_rng(bytes.fromhex(g["seed"])))
        assert again == raw
        got = open_granted(ENVELOPE, grantee, GRANTS, KEYS, expected=CTX)
        assert got.opened.body.hex() == GV["body"]


def test_a_chain_needs_its_first_link() -> None:
    dave = IDS[GV["grants"][2]["grantee"]]
    assert open_granted(ENVELOPE, dave, GRANTS, KEYS).grant.grantor == GV["grants"][2]["grantor"]
    with pytest.raises(DecryptionError, match="never given this message"):
        open_granted(ENVELOPE, dave, [GRANTS[2]], KEYS)


def test_signature_vector() -> None:
    v = _load("signature.json")
    alice = _ident(v["identity"])
    ctx = EnvelopeContext(**v["context"])
    assert message_to_sign(ctx, v["text"]).hex() == v["message"]
    assert signed_bytes(v["purpose"], bytes.fromhex(v["message"])).hex() == v["signed_bytes"]
    assert sign_message(alice, ctx, v["text"]).hex() == v["signature"]
    assert signed_body(v["text"], alice.fingerprint, bytes.fromhex(v["signature"])).decode() == v["body"]
    signed = parse_signed(json.loads(v["body"]))
    verify_message(alice.public, ctx, signed.text, signed.signature)


def test_purpose_labels_are_distinct() -> None:
    assert len({MESSAGE_PURPOSE, GRANT_PURPOSE, BINDING_PURPOSE}) == 3
    alice = IDS[GV["grants"][0]["grantor"]]
    sig = sign_message(alice, CTX, "x")
    with pytest.raises(BadSignature):  # a message signature is no grant signature
        alice.public.verify(GRANT_PURPOSE, message_to_sign(CTX, "x"), sig)


ALICE = IDS[GV["grants"][0]["grantor"]]
CAROL = IDS[GV["grants"][0]["grantee"]]


@settings(max_examples=150, deadline=None)
@given(bit=st.integers(0, len(GRANTS[0]) * 8 - 1))
def test_every_flipped_bit_of_a_grant_is_refused(bit: int) -> None:
    bad = bytearray(GRANTS[0])
    bad[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(DecryptionError):
        open_granted(ENVELOPE, CAROL, [bytes(bad)], KEYS)


@settings(max_examples=40, deadline=None)
@given(body=st.binary(max_size=600), text=st.text(max_size=200),
       tip=st.text(st.characters(codec="utf-8"), min_size=1, max_size=30))
def test_round_trip_any_message(body: bytes, text: str, tip: str) -> None:
    ctx = EnvelopeContext("inst", tip, "m1", "note", "web")
    sealed = seal(ctx, body, [ALICE.recipient()])
    grant = make_grant(open_envelope(sealed.envelope, ALICE), ALICE, CAROL.recipient())
    assert open_granted(sealed.envelope, CAROL, [grant], KEYS, expected=ctx).opened.body == body
    sig = sign_message(ALICE, ctx, text)
    verify_message(ALICE.public, ctx, text, sig)
    with pytest.raises(BadSignature):
        verify_message(ALICE.public, ctx, text + "!", sig)
    with pytest.raises(BadSignature):
        verify_message(CAROL.public, ctx, text, sig)
    other = EnvelopeContext("inst", tip, "m2", "note", "web")
    with pytest.raises(BadSignature):
        verify_message(ALICE.public, other, text, sig)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_parse_grant_never_crashes(data: bytes) -> None:
    for candidate in (data, b"HLGR\x01\x01" + data):
        try:
            parse_grant(candidate)
        except (InvalidGrant, UnsupportedFormat, DecryptionError):
            pass


def test_grants_for_another_envelope_or_key_are_refused() -> None:
    other = seal(CTX, b"false alarm", [ALICE.recipient()])
    foreign = make_grant(open_envelope(other.envelope, ALICE), ALICE, CAROL.recipient())
    check = check_grants(read_header(ENVELOPE), [foreign], KEYS)
    assert check.accepted == () and "another key" in check.rejected[0][1]
    with pytest.raises(DecryptionError, match="key commitment mismatch"):
        open_with_key(ENVELOPE, other.message_key)
    moved = EnvelopeContext(CTX.instance_id, "tip-0002", CTX.message_id, CTX.direction, CTX.channel)
    elsewhere = seal(moved, b"x", [ALICE.recipient()])
    g = make_grant(open_envelope(elsewhere.envelope, ALICE), ALICE, CAROL.recipient())
    assert "another message or tip" in check_grants(read_header(ENVELOPE), [g], KEYS).rejected[0][1]
    assert check_grants(read_header(ENVELOPE), [GRANTS[0]], {}).rejected[0][1] == (
        "the grantor's public key is unknown")


def test_parse_signed_refuses_malformed_bodies() -> None:
    good = json.loads(_load("signature.json")["body"])
    for bad in ({**good, "v": 1}, {**good, "signer": "alice"}, {**good, "signature": "%%"},
                {**good, "signature": base64.b64encode(b"x" * 10).decode()}, "text", None,
                {k: v for k, v in good.items() if k != "signature"}):
        with pytest.raises(BadSignature):
            parse_signed(bad)
