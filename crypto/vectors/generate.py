"""Regenerate the frozen known-answer vectors in this directory.

Run from the repository root:  python -m crypto.vectors.generate [--check]

The vectors are FROZEN: if a regeneration changes any byte, a format changed
and needs a new version number, not new vectors. ``--check`` regenerates in
memory and fails if anything differs. Tests never run this; they load the JSON.
All randomness comes from crypto.testing.seeded_rng with the seeds below.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from crypto import (
    TESTING,
    EnvelopeContext,
    Identity,
    derive_receipt_keys,
    derive_subkey,
    encrypt_identity,
    encrypt_part_bytes,
    fingerprint_of,
    keyed_hash,
    login_message,
    make_grant,
    open_envelope,
    open_granted,
    padded_length,
    reseal,
    seal,
    sign_login,
    sign_message,
    signed_body,
    wrap,
)
from crypto.envelope import key_commitment, part_subkey
from crypto.epoch import encode_epoch_file, wrap_tip_key
from crypto.grant import parse_grant
from crypto.identity import signed_bytes
from crypto.signing import MESSAGE_PURPOSE, message_to_sign
from crypto.testing import seeded_rng

HERE = Path(__file__).resolve().parent
Vector = dict[str, Any]


def _identity(seed: bytes, name: str) -> Identity:
    return Identity.generate(name, rng=seeded_rng(seed))


def _identity_json(identity: Identity) -> Vector:
    return {
        "name": identity.name,
        "box_secret": identity.box_secret.hex(),
        "sign_seed": identity.sign_seed.hex(),
        "box_public": identity.box_public.hex(),
        "sign_public": identity.sign_public.hex(),
        "fingerprint": identity.fingerprint,
    }


CONTEXT = EnvelopeContext("hotline-demo", "tip-0001", "msg-0001", "in", "sms")
ALICE = _identity(b"vector-identity-alice", "Alice Advocate")
BOB = _identity(b"vector-identity-bob", "Recovery key")
CAROL = _identity(b"vector-identity-carol", "Carol Colleague")
DAVE = _identity(b"vector-identity-dave", "Dave Duty")


def _context_json(ctx: EnvelopeContext) -> Vector:
    return {
        "instance_id": ctx.instance_id,
        "tip_id": ctx.tip_id,
        "message_id": ctx.message_id,
        "direction": ctx.direction,
        "channel": ctx.channel,
    }


def rng_vectors() -> Vector:
    rng = seeded_rng(b"hotline-rng-vector")
    return {"seed": b"hotline-rng-vector".hex(), "outputs": [rng(n).hex() for n in (32, 24, 7)]}


def kdf_vectors() -> Vector:
    master = bytes(range(32))
    subkeys = [
        {"label": label, "length": length, "output": derive_subkey(master, label, length).hex()}
        for label, length in [("phone-thread", 32), ("rate-limit", 32), ("phone-thread", 16)]
    ]
    message_key = bytes(range(100, 132))
    return {
        "master": master.hex(),
        "subkeys": subkeys,
        "keyed_hash": {
            "key": master.hex(),
            "data": b"+15551234567".hex(),
            "output": keyed_hash(master, b"+15551234567").hex(),
        },
        "message_key": message_key.hex(),
        "key_commitment": key_commitment(message_key).hex(),
        "part_subkeys": {str(p): part_subkey(message_key, p).hex() for p in (0, 1, 2)},
        "fingerprint": {
            "box_public": ALICE.box_public.hex(),
            "sign_public": ALICE.sign_public.hex(),
            "fingerprint": fingerprint_of(ALICE.box_public, ALICE.sign_public),
        },
        "padding": {str(n): padded_length(n) for n in (0, 255, 256, 65535, 65536, 200000)},
    }


def envelope_vectors() -> Vector:
    body = "Necesito ayuda, señora. +15551234567".encode()
    sealed = seal(CONTEXT, body, [ALICE.recipient(), BOB.recipient()], rng=seeded_rng(b"env-1"))
    handed = reseal(
        sealed.envelope,
        ALICE,
        [BOB.recipient(), CAROL.recipient()],
        rng=seeded_rng(b"env-1-reseal"),
    )
    return {
        "identities": [_identity_json(i) for i in (ALICE, BOB, CAROL)],
        "context": _context_json(CONTEXT),
        "body": body.hex(),
        "seal_seed": b"env-1".hex(),
        "message_key": sealed.message_key.hex(),
        "envelope": sealed.envelope.hex(),
        "reseal": {
            "holder": ALICE.fingerprint,
            "recipients": [BOB.fingerprint, CAROL.fingerprint],
            "seed": b"env-1-reseal".hex(),
            "envelope": handed.hex(),
        },
    }


def part_vectors() -> Vector:
    message_key = bytes.fromhex(envelope_vectors()["message_key"])
    data = bytes(range(256)) * 2 + b"attachment tail"
    stream = encrypt_part_bytes(
        CONTEXT, message_key, 1, data, chunk_size=256, rng=seeded_rng(b"part-1")
    )
    empty = encrypt_part_bytes(CONTEXT, message_key, 2, b"", rng=seeded_rng(b"part-2"))
    return {
        "context": _context_json(CONTEXT),
        "message_key": message_key.hex(),
        "streams": [
            {
                "part": 1,
                "chunk_size": 256,
                "seed": b"part-1".hex(),
                "plaintext": data.hex(),
                "stream": stream.hex(),
            },
            {
                "part": 2,
                "chunk_size": 65536,
                "seed": b"part-2".hex(),
                "plaintext": "",
                "stream": empty.hex(),
            },
        ],
    }


def keyfile_vectors() -> Vector:
    passphrase = "caf\u00e9 tortuga nube lámpara río sol"  # noqa: S105 - public test vector
    data = encrypt_identity(ALICE, passphrase, TESTING, rng=seeded_rng(b"keyfile-1"))
    return {
        "identity": _identity_json(ALICE),
        "passphrase": passphrase,
        "passphrase_nfd_also_opens": True,
        "opslimit": TESTING.opslimit,
        "memlimit": TESTING.memlimit,
        "seed": b"keyfile-1".hex(),
        "keyfile": data.hex(),
    }


def pubfile_vectors() -> Vector:
    return {"identity": _identity_json(ALICE), "pub_file": ALICE.to_pub_file().decode("utf-8")}


def login_vectors() -> Vector:
    nonce = bytes(range(32))
    origin, instance_id, expires_at = "https://hotline.example.org", "hotline-demo", 1_700_000_060
    fpr = ALICE.fingerprint
    return {
        "identity": _identity_json(ALICE),
        "origin": origin,
        "instance_id": instance_id,
        "fingerprint": fpr,
        "nonce": nonce.hex(),
        "expires_at": expires_at,
        "message": login_message(origin, instance_id, fpr, nonce, expires_at).hex(),
        "signature": sign_login(ALICE, origin, instance_id, fpr, nonce, expires_at).hex(),
    }


def receipt_vectors() -> Vector:
    entropy = bytes.fromhex("00112233445566778899aabbccddeeff")
    keys = derive_receipt_keys(entropy)
    return {
        "entropy": entropy.hex(),
        "lookup_id": keys.lookup_id.hex(),
        "reply_box_public": keys.reply.box_public.hex(),
        "reply_box_secret": keys.reply.box_secret.hex(),
        "reply_fingerprint": keys.reply.fingerprint,
    }


def atrest_vectors() -> Vector:
    storage_key = bytes(range(200, 232))
    blob = b"an envelope, typically"
    wrapped = wrap(storage_key, blob, label="tip-0001", rng=seeded_rng(b"atrest-1"))
    return {
        "storage_key": storage_key.hex(),
        "label": "tip-0001",
        "blob": blob.hex(),
        "seed": b"atrest-1".hex(),
        "wrapped": wrapped.hex(),
    }


def epoch_vectors() -> Vector:
    """A tip key wrapped under an epoch key, and that epoch's key file (server side only)."""
    epoch_key, tip_key = bytes(range(100, 132)), bytes(range(1, 33))
    epoch_id = "0123456789abcdef"
    wrapped = wrap_tip_key(epoch_key, tip_key, epoch_id=epoch_id, tip_id="tip-0001",
                           rng=seeded_rng(b"epoch-1"))
    return {
        "epoch_key": epoch_key.hex(),
        "epoch_id": epoch_id,
        "tip_id": "tip-0001",
        "tip_key": tip_key.hex(),
        "seed": b"epoch-1".hex(),
        "wrapped": wrapped.hex(),
        "file": encode_epoch_file(epoch_id, epoch_key).hex(),
    }


def grant_vectors() -> Vector:
    """Grants of the envelope vector's message to Carol: by Alice (a recipient), by the
    recovery key (BOB's identity is named "Recovery key"), and one from Carol onwards to
    Alice's key made on the strength of Alice's grant (a chain)."""
    envelope = bytes.fromhex(envelope_vectors()["envelope"])
    by_alice = make_grant(open_envelope(envelope, ALICE), ALICE, CAROL.recipient(),
                          rng=seeded_rng(b"grant-1"))
    by_recovery = make_grant(open_envelope(envelope, BOB), BOB, CAROL.recipient(),
                             rng=seeded_rng(b"grant-2"))
    keys = {i.fingerprint: i.public for i in (ALICE, BOB, CAROL)}
    via = open_granted(envelope, CAROL, [by_alice], keys).opened
    onwards = make_grant(via, CAROL, DAVE.recipient(), rng=seeded_rng(b"grant-3"))
    grants = [(by_alice, ALICE, CAROL, b"grant-1"), (by_recovery, BOB, CAROL, b"grant-2"),
              (onwards, CAROL, DAVE, b"grant-3")]
    return {
        "identities": [_identity_json(i) for i in (ALICE, BOB, CAROL, DAVE)],
        "context": _context_json(CONTEXT),
        "envelope": envelope.hex(),
        "body": envelope_vectors()["body"],
        "grants": [{
            "grantor": grantor.fingerprint,
            "grantee": grantee.fingerprint,
            "seed": seed.hex(),
            "signed_part": parse_grant(g).signed_part().hex(),
            "grant": g.hex(),
        } for g, grantor, grantee, seed in grants],
    }


def signature_vectors() -> Vector:
    ctx = EnvelopeContext("hotline-demo", "tip-0001", "msg-0002", "note", "sms")
    text = "Llamé al refugio: tienen cama esta noche. — A."
    signature = sign_message(ALICE, ctx, text)
    return {
        "identity": _identity_json(ALICE),
        "purpose": MESSAGE_PURPOSE,
        "context": _context_json(ctx),
        "text": text,
        "message": message_to_sign(ctx, text).hex(),
        "signed_bytes": signed_bytes(MESSAGE_PURPOSE, message_to_sign(ctx, text)).hex(),
        "signature": signature.hex(),
        "body": signed_body(text, ALICE.fingerprint, signature).decode("utf-8"),
    }


GENERATORS = {
    "rng.json": rng_vectors,
    "kdf.json": kdf_vectors,
    "envelope.json": envelope_vectors,
    "part.json": part_vectors,
    "keyfile.json": keyfile_vectors,
    "pubfile.json": pubfile_vectors,
    "login.json": login_vectors,
    "receipt.json": receipt_vectors,
    "atrest.json": atrest_vectors,
    "grant.json": grant_vectors,
    "signature.json": signature_vectors,
    # Formats only the server reads (the console never sees them): kept apart from the
    # files the JS reader must replay.
    "server/epoch.json": epoch_vectors,
}


def render(vector: Vector) -> str:
    return json.dumps(vector, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    changed = []
    for filename, generate in GENERATORS.items():
        path = HERE / filename
        text = render(generate())
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        changed.append(filename)
        if not check:
            path.write_text(text, encoding="utf-8")
    if check and changed:
        print("vectors differ:", ", ".join(changed), file=sys.stderr)
        return 1
    print("changed:" if not check else "ok", ", ".join(changed) or "nothing")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
