"""Frozen known-answer vectors (crypto/vectors/*.json). Never regenerated here.

Each vector is checked two ways: the stored ciphertext opens to the stored
plaintext, and re-running the writer with the same seeded rng reproduces the
stored bytes exactly.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import crypto
from crypto import (
    EnvelopeContext,
    Identity,
    KdfParams,
    PublicIdentity,
    decrypt_identity,
    decrypt_part_bytes,
    derive_receipt_keys,
    derive_subkey,
    encrypt_identity,
    encrypt_part_bytes,
    fingerprint_of,
    keyed_hash,
    login_message,
    open_envelope,
    padded_length,
    read_header,
    reseal,
    seal,
    sign_login,
    unwrap,
    verify_login,
    wrap,
)
from crypto.envelope import key_commitment, part_subkey
from crypto.epoch import decode_epoch_file, encode_epoch_file, unwrap_tip_key, wrap_tip_key
from crypto.testing import seeded_rng

VECTORS = Path(crypto.__file__).resolve().parent / "vectors"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return data


def _identity(v: dict[str, Any]) -> Identity:
    identity = Identity(v["name"], bytes.fromhex(v["box_secret"]), bytes.fromhex(v["sign_seed"]))
    assert identity.box_public.hex() == v["box_public"]
    assert identity.public.sign_public.hex() == v["sign_public"]
    assert identity.fingerprint == v["fingerprint"]
    return identity


def _context(v: dict[str, Any]) -> EnvelopeContext:
    return EnvelopeContext(**v)


def _h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_all_vector_files_present() -> None:
    names = {p.name for p in VECTORS.glob("*.json")}
    assert names == {
        "rng.json",
        "kdf.json",
        "envelope.json",
        "part.json",
        "keyfile.json",
        "pubfile.json",
        "login.json",
        "receipt.json",
        "atrest.json",
        "grant.json",
        "signature.json",
    }


def test_seeded_rng() -> None:
    v = _load("rng.json")
    rng = seeded_rng(_h(v["seed"]))
    assert [rng(n).hex() for n in (32, 24, 7)] == v["outputs"]


def test_kdf_fingerprint_padding() -> None:
    v = _load("kdf.json")
    master = _h(v["master"])
    for case in v["subkeys"]:
        assert derive_subkey(master, case["label"], case["length"]).hex() == case["output"]
    kh = v["keyed_hash"]
    assert keyed_hash(_h(kh["key"]), _h(kh["data"])).hex() == kh["output"]
    message_key = _h(v["message_key"])
    assert key_commitment(message_key).hex() == v["key_commitment"]
    for part, expected in v["part_subkeys"].items():
        assert part_subkey(message_key, int(part)).hex() == expected
    fp = v["fingerprint"]
    assert fingerprint_of(_h(fp["box_public"]), _h(fp["sign_public"])) == fp["fingerprint"]
    for n, bucket in v["padding"].items():
        assert padded_length(int(n)) == bucket


def test_envelope_opens_and_reproduces() -> None:
    v = _load("envelope.json")
    alice, bob, carol = (_identity(i) for i in v["identities"])
    ctx, body, envelope = _context(v["context"]), _h(v["body"]), _h(v["envelope"])
    for holder in (alice, bob):
        opened = open_envelope(envelope, holder, expected=ctx)
        assert opened.body == body
        assert opened.message_key.hex() == v["message_key"]
    assert read_header(envelope).context == ctx
    sealed = seal(
        ctx, body, [alice.recipient(), bob.recipient()], rng=seeded_rng(_h(v["seal_seed"]))
    )
    assert sealed.envelope == envelope
    assert sealed.message_key.hex() == v["message_key"]

    r = v["reseal"]
    handed = _h(r["envelope"])
    assert set(read_header(handed).recipients) == set(r["recipients"])
    assert open_envelope(handed, carol, expected=ctx).body == body
    again = reseal(
        envelope, alice, [bob.recipient(), carol.recipient()], rng=seeded_rng(_h(r["seed"]))
    )
    assert again == handed


def test_part_streams_open_and_reproduce() -> None:
    v = _load("part.json")
    ctx, key = _context(v["context"]), _h(v["message_key"])
    for s in v["streams"]:
        stream, plaintext = _h(s["stream"]), _h(s["plaintext"])
        assert decrypt_part_bytes(ctx, key, s["part"], stream) == plaintext
        rng = seeded_rng(_h(s["seed"]))
        redone = encrypt_part_bytes(
            ctx, key, s["part"], plaintext, chunk_size=s["chunk_size"], rng=rng
        )
        assert redone == stream
    multi = v["streams"][0]
    assert len(_h(multi["stream"])) > 2 * (multi["chunk_size"] + 17)  # really multi-chunk


def test_keyfile_opens_and_reproduces() -> None:
    v = _load("keyfile.json")
    identity = _identity(v["identity"])
    data = _h(v["keyfile"])
    assert decrypt_identity(data, v["passphrase"]) == identity
    assert decrypt_identity(data, unicodedata.normalize("NFD", v["passphrase"])) == identity
    params = KdfParams(v["opslimit"], v["memlimit"])
    assert (
        encrypt_identity(identity, v["passphrase"], params, rng=seeded_rng(_h(v["seed"]))) == data
    )


def test_pub_file_parses_and_reproduces() -> None:
    v = _load("pubfile.json")
    identity = _identity(v["identity"])
    pub = v["pub_file"].encode("utf-8")
    assert PublicIdentity.from_pub_file(pub) == identity.public
    assert identity.to_pub_file() == pub


def test_login_message_and_signature() -> None:
    v = _load("login.json")
    identity = _identity(v["identity"])
    args = (v["origin"], v["instance_id"], v["fingerprint"], _h(v["nonce"]), v["expires_at"])
    assert login_message(*args).hex() == v["message"]
    assert sign_login(identity, *args).hex() == v["signature"]
    verify_login(identity.public, _h(v["signature"]), *args)


def test_receipt_derivation() -> None:
    v = _load("receipt.json")
    keys = derive_receipt_keys(_h(v["entropy"]))
    assert keys.lookup_id.hex() == v["lookup_id"]
    assert keys.reply.box_public.hex() == v["reply_box_public"]
    assert keys.reply.box_secret.hex() == v["reply_box_secret"]
    assert keys.reply.fingerprint == v["reply_fingerprint"]


def test_epoch_wrap_and_file() -> None:
    v = json.loads((VECTORS / "server" / "epoch.json").read_text(encoding="utf-8"))
    key, wrapped = _h(v["epoch_key"]), _h(v["wrapped"])
    ids = {"epoch_id": v["epoch_id"], "tip_id": v["tip_id"]}
    assert unwrap_tip_key(key, wrapped, **ids) == _h(v["tip_key"])
    assert wrap_tip_key(key, _h(v["tip_key"]), rng=seeded_rng(_h(v["seed"])), **ids) == wrapped
    assert encode_epoch_file(v["epoch_id"], key) == _h(v["file"])
    assert decode_epoch_file(_h(v["file"]), v["epoch_id"]) == key


def test_atrest_wrap() -> None:
    v = _load("atrest.json")
    key, wrapped = _h(v["storage_key"]), _h(v["wrapped"])
    assert unwrap(key, wrapped, label=v["label"]) == _h(v["blob"])
    assert wrap(key, _h(v["blob"]), label=v["label"], rng=seeded_rng(_h(v["seed"]))) == wrapped
