"""The two readers agree: Python's crypto/ and the console's JS give the same verdict.

Hypothesis builds valid envelopes, part streams, .pub files, key files, grants
and signed bodies from random keys and texts, mutates them (bit flips,
truncation, extension, a BOM, CRLF and other line ends, whitespace, duplicate
and reordered lines, version/suite bytes, part numbers, swapped recipients,
Argon2id parameters), and requires both readers to accept with the same result
or refuse with the same error class (tests/helpers/reader_diff.py).

Bounded for CI (``max_examples`` 200 per kind, derandomized; about 20 s on an idle
shared 2-core machine); set HOTLINE_DIFF_EXAMPLES to run longer (bench/RESULTS.md
records a 2000-per-kind run).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import nacl.bindings
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto import (
    EnvelopeContext,
    Identity,
    KdfParams,
    encrypt_identity,
    encrypt_part_bytes,
    make_grant,
    open_envelope,
    seal,
    sign_message,
    signed_body,
    wrap,
)
from crypto._sealedbox import seal_box
from crypto.envelope import _associated_data, _Parsed, _serialize, key_commitment, part_subkey
from crypto.kdf import parse_fingerprint
from crypto.keyfile import _checksum, read_kdf_params
from crypto.padding import padded_length
from crypto.parts import TAG_FINAL, TAG_MESSAGE, _push_state
from crypto.parts import _associated_data as _part_ad
from crypto.testing import seeded_rng
from tests.helpers.reader_diff import JsReaders, b64, digest, py_verdict

EXAMPLES = int(os.environ.get("HOTLINE_DIFF_EXAMPLES", "200"))
DIFF = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
TINY_KDF = KdfParams(1, 8192)
"""libsodium's Argon2id minimum: the reader's parsing and unlocking paths, cheaply."""

_js: JsReaders | None = None


@pytest.fixture(scope="module", autouse=True)
def js_readers() -> Iterator[JsReaders]:
    global _js
    _js = JsReaders()
    yield _js
    _js.close()
    _js = None


def agree(q: dict[str, Any]) -> str:
    """Both verdicts for one request; fails with both unless they are identical."""
    assert _js is not None
    py, js = py_verdict(q), _js.verdict(q)
    shown = {k: v for k, v in q.items() if k != "keys"}
    assert digest(py) == digest(js), f"readers disagree\npy: {py}\njs: {js}\nrequest: {shown}"
    assert not digest(py).startswith("error internal"), f"reader crashed: {py}"
    return digest(py)


# -- building blocks -------------------------------------------------------------------------

NAMES = ["Alice", "Bob Ålund", "Recovery key", "Ωmega advocate", "\ufeffBOM name", "名前"]
ID_TEXT = st.one_of(
    st.sampled_from(["tip-1", "msg-1", "inst", "\ufefftip", "tip\ufeff", "ö"]),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10),
)
contexts = st.builds(
    EnvelopeContext, ID_TEXT, ID_TEXT, ID_TEXT,
    st.sampled_from(["in", "out", "note"]), st.sampled_from(["web", "sms", "voice", "whatsapp"]),
)


def identity(seed: bytes, name: str) -> Identity:
    rng = seeded_rng(seed)
    return Identity(name, rng(32), rng(32))


def ident_json(i: Identity) -> dict[str, str]:
    return {"name": i.name, "box_secret": i.box_secret.hex(), "sign_seed": i.sign_seed.hex()}


def ctx_json(c: EnvelopeContext) -> dict[str, str]:
    return {k: getattr(c, k) for k in ("instance_id", "tip_id", "message_id", "direction", "channel")}


# -- mutations -----------------------------------------------------------------------------

pos = st.integers(0, 1 << 16)
byte_ops = st.one_of(
    st.tuples(st.just("flip"), pos, st.integers(0, 7)),
    st.tuples(st.just("truncate"), pos),
    st.tuples(st.just("extend"), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("bom")),
    st.tuples(st.just("set"), pos, st.integers(0, 255)),
    st.tuples(st.just("insert"), pos, st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("delete"), pos, st.integers(1, 8)),
    st.tuples(st.just("swap"), pos, pos, st.integers(1, 100)),
    st.tuples(st.just("version"), st.sampled_from([0, 2, 255])),
    st.tuples(st.just("suite"), st.sampled_from([0, 2, 255])),
)


def mutate(data: bytes, ops: list[tuple[Any, ...]]) -> bytes:
    b = bytearray(data)
    for op in ops:
        kind, n = op[0], max(len(b), 1)
        if kind == "flip" and b:
            b[op[1] % len(b)] ^= 1 << op[2]
        elif kind == "truncate":
            del b[op[1] % n:]
        elif kind == "extend":
            b += op[1]
        elif kind == "bom":
            b[:0] = b"\xef\xbb\xbf"
        elif kind == "set" and b:
            b[op[1] % len(b)] = op[2]
        elif kind == "insert":
            b[op[1] % n:op[1] % n] = op[2]
        elif kind == "delete":
            del b[op[1] % n:op[1] % n + op[2]]
        elif kind == "swap" and len(b) > 2 * op[3]:
            i, j = sorted((op[1] % (len(b) - op[3]), op[2] % (len(b) - op[3])))
            if j >= i + op[3]:
                b[i:i + op[3]], b[j:j + op[3]] = b[j:j + op[3]], b[i:i + op[3]]
        elif kind in ("version", "suite") and len(b) > 5:
            b[4 if kind == "version" else 5] = op[1]
    return bytes(b)


LINE_ENDS = ["\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\n\n"]
SPACES = [" ", "\t", "\r", "\u00a0", "\u3000", "\ufeff", "\x85", "\x1f", "\u2028"]
text_ops = st.one_of(
    st.tuples(st.just("line_end"), st.sampled_from(LINE_ENDS)),
    st.tuples(st.just("space"), pos, st.booleans(), st.sampled_from(SPACES)),
    st.tuples(st.just("dup"), pos),
    st.tuples(st.just("swap_lines"), pos, pos),
    st.tuples(st.just("drop"), pos),
    st.tuples(st.just("blank"), pos),
    st.tuples(st.just("no_final_newline")),
)


def mutate_text(text: str, ops: list[tuple[Any, ...]]) -> str:
    lines = text.split("\n")
    end = "\n"
    for op in ops:
        kind, n = op[0], len(lines)
        if kind == "line_end":
            end = op[1]
        elif kind == "space":
            i = op[1] % n
            lines[i] = lines[i] + op[3] if op[2] else op[3] + lines[i]
        elif kind == "dup":
            i = op[1] % n
            lines.insert(i, lines[i])
        elif kind == "swap_lines":
            i, j = op[1] % n, op[2] % n
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "drop" and n > 1:
            del lines[op[1] % n]
        elif kind == "blank":
            lines.insert(op[1] % (n + 1), "")
        elif kind == "no_final_newline" and lines[-1] == "":
            lines.pop()
    return end.join(lines)


seeds = st.binary(min_size=4, max_size=4)
mutations = st.lists(byte_ops, max_size=3)


# -- envelopes and headers -------------------------------------------------------------------

@DIFF
@given(seeds, contexts, st.binary(max_size=600), st.integers(1, 3), st.integers(0, 3),
       st.sampled_from(["same", "none", "other"]), mutations)
def test_envelopes_agree(seed: bytes, ctx: EnvelopeContext, body: bytes, n: int, who: int,
                         expect: str, ops: list[tuple[Any, ...]]) -> None:
    people = [identity(seed + bytes([i]), NAMES[i]) for i in range(4)]
    sealed = seal(ctx, body, [p.recipient() for p in people[:n]], rng=seeded_rng(seed))
    data = mutate(sealed.envelope, ops)
    other = EnvelopeContext(ctx.instance_id, ctx.tip_id + "x", ctx.message_id, ctx.direction,
                            ctx.channel)
    expected = {"same": ctx_json(ctx), "none": None, "other": ctx_json(other)}[expect]
    agree({"kind": "envelope", "input": b64(data), "holder": ident_json(people[who]),
           "expected": expected})
    agree({"kind": "header", "input": b64(data)})


# A sender may seal any plaintext (envelopes are not sender-authenticated), so the
# padding check is an attack surface: craft canonical and non-canonical padding.
PADDINGS = st.sampled_from(["canonical", "next_bucket", "no_marker", "marker_short", "garbage",
                            "one_more_zero"])
BIG = st.sampled_from([0, 200, 254, 255, 256, 511, 65534, 65535, 65536, 70000])


def padded_as(body: bytes, how: str) -> bytes:
    size = padded_length(len(body))
    if how == "canonical":
        return body + b"\x80" + bytes(size - len(body) - 1)
    if how == "next_bucket":
        return body + b"\x80" + bytes(padded_length(size) - len(body) - 1)
    if how == "no_marker":
        return body + bytes(size - len(body))
    if how == "marker_short":
        return body + b"\x80"
    if how == "garbage":
        return body + b"\x80" + bytes(max(0, size - len(body) - 2)) + b"\x01"
    return body + b"\x80" + bytes(size - len(body))  # one_more_zero


def seal_raw(ctx: EnvelopeContext, padded: bytes, to: list[Identity], rng: Any) -> bytes:
    """An envelope around exactly ``padded`` (as a hostile sender would make it)."""
    key = rng(32)
    stanzas = tuple(sorted((parse_fingerprint(p.fingerprint), seal_box(key, p.box_public, rng))
                           for p in to))
    nonce = rng(24)
    draft = _Parsed(1, 1, ctx, key_commitment(key), stanzas, nonce, b"")
    ciphertext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        padded, _associated_data(draft), nonce, part_subkey(key, 0))
    return _serialize(_Parsed(1, 1, ctx, draft.commitment, stanzas, nonce, ciphertext))


@DIFF
@given(seeds, contexts, BIG, PADDINGS, st.integers(1, 2))
def test_envelope_padding_agrees(seed: bytes, ctx: EnvelopeContext, size: int, how: str,
                                 n: int) -> None:
    people = [identity(seed + bytes([i]), NAMES[i]) for i in range(2)]
    rng = seeded_rng(seed)
    env = seal_raw(ctx, padded_as(rng(size) if size else b"", how), people[:n], rng)
    agree({"kind": "envelope", "input": b64(env), "holder": ident_json(people[0]),
           "expected": ctx_json(ctx)})


def part_raw(ctx: EnvelopeContext, key: bytes, part: int, plain: bytes, chunk: int,
             finals: str, rng: Any) -> bytes:
    """A part stream around exactly ``plain``, with FINAL where ``finals`` says."""
    header = rng(24)
    state = _push_state(part_subkey(key, part), header)
    ad = _part_ad(ctx, part, chunk, key_commitment(key))
    out = [b"HLPT\x01\x01", part.to_bytes(4, "big"), chunk.to_bytes(4, "big"), key_commitment(key),
           header]
    pieces = [plain[i:i + chunk] for i in range(0, len(plain), chunk)] or [b""]
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        final = {"last": last, "none": False, "first": i == 0, "all": True}[finals]
        tag = TAG_FINAL if final else TAG_MESSAGE
        out.append(nacl.bindings.crypto_secretstream_xchacha20poly1305_push(state, piece, ad, tag))
    return b"".join(out)


@DIFF
@given(seeds, contexts, BIG, PADDINGS, st.sampled_from([16, 100, 4096, 65536]),
       st.sampled_from(["last", "last", "none", "first", "all"]))
def test_part_padding_and_tags_agree(seed: bytes, ctx: EnvelopeContext, size: int, how: str,
                                     chunk: int, finals: str) -> None:
    rng = seeded_rng(seed)
    key = rng(32)
    stream = part_raw(ctx, key, 1, padded_as(rng(size) if size else b"", how), chunk, finals, rng)
    agree({"kind": "part", "input": b64(stream), "context": ctx_json(ctx),
           "message_key": key.hex(), "part": 1})


# -- at-rest wraps ---------------------------------------------------------------------------

@DIFF
@given(seeds, st.binary(max_size=300), ID_TEXT, st.booleans(), mutations)
def test_at_rest_wraps_agree(seed: bytes, blob: bytes, label: str, other_label: bool,
                             ops: list[tuple[Any, ...]]) -> None:
    rng = seeded_rng(seed)
    key = rng(32)
    wrapped = mutate(wrap(key, blob, label=label, rng=rng), ops)
    agree({"kind": "atrest", "input": b64(wrapped), "storage_key": key.hex(),
           "label": label + "x" if other_label else label})


# -- part streams ----------------------------------------------------------------------------

@DIFF
@given(seeds, contexts, st.binary(max_size=1200), st.sampled_from([16, 17, 100, 256, 65536]),
       st.integers(1, 5), st.sampled_from([None, 0, 2, 2**32 - 1, 2**32]), st.booleans(),
       mutations)
def test_part_streams_agree(seed: bytes, ctx: EnvelopeContext, data: bytes, chunk: int, part: int,
                            asked: int | None, wrong_key: bool, ops: list[tuple[Any, ...]]) -> None:
    rng = seeded_rng(seed)
    key = rng(32)
    stream = mutate(encrypt_part_bytes(ctx, key, part, data, chunk_size=chunk, rng=rng), ops)
    agree({"kind": "part", "input": b64(stream), "context": ctx_json(ctx),
           "message_key": (rng(32) if wrong_key else key).hex(),
           "part": part if asked is None else asked})


# -- .pub files ------------------------------------------------------------------------------

@DIFF
@given(seeds, st.sampled_from(NAMES[:4] + NAMES[5:]), st.lists(text_ops, max_size=3), mutations)
def test_pub_files_agree(seed: bytes, name: str, t_ops: list[tuple[Any, ...]],
                         ops: list[tuple[Any, ...]]) -> None:
    pub = identity(seed, name).to_pub_file().decode("utf-8")
    data = mutate(mutate_text(pub, t_ops).encode("utf-8"), ops)
    agree({"kind": "pubfile", "input": b64(data)})


# -- key files -------------------------------------------------------------------------------

PARAM_EDITS = st.one_of(
    st.none(),
    st.tuples(st.sampled_from([0, 1, 2, 16, 17, 2**32 - 1]),
              st.sampled_from([0, 8191, 8192, 16384, 1 << 30, (1 << 30) + 1, 2**53 + 1, 2**64 - 1]),
              st.booleans()),
)


def edit_params(data: bytes, edit: tuple[int, int, bool] | None) -> bytes:
    """Rewrite the Argon2id parameters, with or without a recomputed header checksum."""
    if edit is None or len(data) < 74:
        return data
    ops, mem, fix = edit
    head = data[:6] + ops.to_bytes(4, "big") + mem.to_bytes(8, "big") + data[18:58]
    checksum = _checksum(head) if fix else data[58:74]
    return head + checksum + data[74:]


@DIFF
@given(seeds, st.sampled_from(NAMES), st.text(min_size=1, max_size=12), PARAM_EDITS,
       st.sampled_from(["same", "other", "nfd"]), mutations)
def test_key_files_agree(seed: bytes, name: str, passphrase: str, edit: Any, typed: str,
                         ops: list[tuple[Any, ...]]) -> None:
    import unicodedata

    if name.startswith("\ufeff"):
        name = "Alice"  # writers refuse it once names are checked identically
    kf = encrypt_identity(identity(seed, name), passphrase, TINY_KDF, rng=seeded_rng(seed))
    data = mutate(edit_params(kf, edit), ops)
    agree({"kind": "keyfile", "input": b64(data)})
    given_pass = {"same": passphrase, "other": passphrase + "x",
                  "nfd": unicodedata.normalize("NFD", passphrase)}[typed]
    try:
        params = read_kdf_params(data)
    except Exception:  # refused before Argon2id: compared above
        return
    if params.memlimit <= 1 << 16 and params.opslimit <= 2:  # cheap enough to run Argon2id
        agree({"kind": "keyfile_open", "input": b64(data), "passphrase": given_pass})


# -- key grants ------------------------------------------------------------------------------

@DIFF
@given(seeds, contexts, st.binary(max_size=100), st.integers(0, 2), st.integers(0, 3), mutations)
def test_grants_agree(seed: bytes, ctx: EnvelopeContext, body: bytes, mutated: int, who: int,
                      ops: list[tuple[Any, ...]]) -> None:
    a, r, b, c = (identity(seed + bytes([i]), NAMES[i]) for i in range(4))
    rng = seeded_rng(seed)
    sealed = seal(ctx, body, [a.recipient(), r.recipient()], rng=rng)
    opened = open_envelope(sealed.envelope, a)
    g1 = make_grant(opened, a, b.recipient(), rng=rng)
    g2 = make_grant(opened, b, c.recipient(), rng=rng)
    g3 = make_grant(opened, r, c.recipient(), rng=rng)
    grants = [g1, g2, g3]
    data = mutate(grants.pop(mutated), ops)
    agree({"kind": "grant", "input": b64(data)})
    agree({"kind": "grants", "input": b64(data), "envelope": b64(sealed.envelope),
           "grants": [b64(g) for g in grants], "holder": ident_json([a, r, b, c][who]),
           "keys": [b64(p.to_pub_file()) for p in (a, r, b, c)], "expected": ctx_json(ctx)})


# -- signed message bodies -------------------------------------------------------------------

BODY_EDITS = st.sampled_from([
    "none", "bom", "v1", "v2.0", "v_string", "nan", "lone_surrogate", "sig_bits", "sig_spaces",
    "signer_lower", "no_signature", "utf16", "array", "text_changed", "dup_key", "deep",
    "deep_in_string", "huge_int", "unterminated",
])


def edit_body(doc: dict[str, Any], raw: bytes, edit: str) -> bytes:
    text = raw.decode("utf-8")
    if edit == "bom":
        return b"\xef\xbb\xbf" + raw
    if edit == "utf16":
        return text.encode("utf-16")
    if edit == "nan":
        return text.replace('"v":2', '"v":2,"x":NaN').encode()
    if edit == "lone_surrogate":
        return text.replace('"text":"', '"text":"\\ud800').encode()
    if edit == "dup_key":
        return text.replace('"v":2', '"v":1,"v":2').encode()
    if edit == "deep":
        return text.replace('"v":2', '"v":2,"d":' + "[" * 65 + "]" * 65).encode()
    if edit == "deep_in_string":
        return text.replace('"v":2', '"v":2,"d":"' + "[" * 100 + '"').encode()
    if edit == "huge_int":
        return text.replace('"v":2', '"v":2,"n":' + "7" * 4400).encode()
    if edit == "unterminated":
        return text[:-1].replace('"text":"', '"text":"\\"[[').encode()
    if edit == "array":
        return f"[{text}]".encode()
    d = dict(doc)
    if edit == "v1":
        d["v"] = 1
    elif edit == "v2.0":
        return text.replace('"v":2', '"v":2.0').encode()
    elif edit == "v_string":
        d["v"] = "2"
    elif edit == "sig_bits":  # same bytes, non-canonical base64 (non-zero unused bits)
        s = d["signature"]
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        d["signature"] = s[:-3] + alphabet[alphabet.index(s[-3]) | 1] + "=="
    elif edit == "sig_spaces":
        d["signature"] = d["signature"][:10] + " " + d["signature"][10:]
    elif edit == "signer_lower":
        d["signer"] = d["signer"].lower()
    elif edit == "no_signature":
        del d["signature"]
    elif edit == "text_changed":
        d["text"] = d["text"] + "!"
    return json.dumps(d, ensure_ascii=False).encode("utf-8")


@DIFF
@given(seeds, contexts, st.text(max_size=40), BODY_EDITS, st.booleans(), mutations)
def test_signed_bodies_agree(seed: bytes, ctx: EnvelopeContext, text: str, edit: str,
                             known: bool, ops: list[tuple[Any, ...]]) -> None:
    author = identity(seed, "Alice")
    raw = signed_body(text, author.fingerprint, sign_message(author, ctx, text))
    doc = json.loads(raw)
    data = mutate(edit_body(doc, raw, edit), ops if edit == "none" else [])
    direction = "out" if ctx.direction == "in" else ctx.direction
    sctx = EnvelopeContext(ctx.instance_id, ctx.tip_id, ctx.message_id, direction, ctx.channel)
    if direction != ctx.direction:
        raw = signed_body(text, author.fingerprint, sign_message(author, sctx, text))
        data = mutate(edit_body(json.loads(raw), raw, edit), ops if edit == "none" else [])
    agree({"kind": "signed", "input": b64(data), "direction": direction, "context": ctx_json(sctx),
           "keys": [b64(author.to_pub_file())] if known else []})


# -- the known-answer vectors, through both ----------------------------------------------------

def test_vectors_agree() -> None:
    from tests.helpers.reader_diff import ROOT

    vec = ROOT / "crypto" / "vectors"
    env = json.loads((vec / "envelope.json").read_text())
    for i in env["identities"]:
        agree({"kind": "envelope", "input": b64(bytes.fromhex(env["envelope"])),
               "holder": {"name": i["name"], "box_secret": i["box_secret"],
                          "sign_seed": i["sign_seed"]}, "expected": env["context"]})
    agree({"kind": "header", "input": b64(bytes.fromhex(env["envelope"]))})
    pub = json.loads((vec / "pubfile.json").read_text())
    for value in _strings(pub):
        if value.startswith("hotline-public-key-v1"):
            assert agree({"kind": "pubfile", "input": b64(value.encode())}).startswith("ok ")
    kf = json.loads((vec / "keyfile.json").read_text())
    for value in _strings(kf):
        if value.startswith(base64.b16encode(b"HLKF").decode().lower()):
            assert agree({"kind": "keyfile", "input": b64(bytes.fromhex(value))}).startswith("ok ")
    # Real Argon2id (the TESTING preset, 8 MiB): the right passphrase, its NFD form, a wrong one.
    import unicodedata

    data = b64(bytes.fromhex(kf["keyfile"]))
    for phrase in (kf["passphrase"], unicodedata.normalize("NFD", kf["passphrase"])):
        assert agree({"kind": "keyfile_open", "input": data, "passphrase": phrase}).startswith("ok ")
    assert agree({"kind": "keyfile_open", "input": data, "passphrase": "wrong"}) == \
        "error WrongPassphrase"


def _strings(doc: Any) -> Iterator[str]:
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for v in doc.values():
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)

