"""Each divergence the differential test found between the Python and JS readers,
pinned as a fixed input both must answer identically (and as SPEC.md says)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from crypto import (
    EnvelopeContext,
    Identity,
    encrypt_part_bytes,
    make_grant,
    open_envelope,
    seal,
    sign_message,
    signed_body,
)
from crypto.testing import seeded_rng
from tests.helpers.reader_diff import JsReaders, b64, digest, py_verdict


@pytest.fixture(scope="module")
def js() -> Iterator[JsReaders]:
    readers = JsReaders()
    yield readers
    readers.close()


def both(js: JsReaders, q: dict[str, object]) -> str:
    py, got = digest(py_verdict(q)), digest(js.verdict(q))
    assert (py, got) == (py, py), f"py: {py}  js: {got}"
    return py


def person(seed: bytes, name: str = "Alice") -> Identity:
    rng = seeded_rng(seed)
    return Identity(name, rng(32), rng(32))


ALICE, BOB = person(b"a"), person(b"b", "Bob")
BOM_CTX = EnvelopeContext("inst", "tip-1", "\ufeffmsg-1", "in", "web")
CTX = EnvelopeContext("inst", "tip-1", "msg-1", "out", "web")


def holder(i: Identity) -> dict[str, str]:
    return {"name": i.name, "box_secret": i.box_secret.hex(), "sign_seed": i.sign_seed.hex()}


def ctx_json(c: EnvelopeContext) -> dict[str, str]:
    return {k: getattr(c, k) for k in ("instance_id", "tip_id", "message_id", "direction", "channel")}


# -- a leading U+FEFF inside a str16 field is part of the value (JS's TextDecoder dropped it) ---

def test_bom_in_an_envelope_field_is_kept(js: JsReaders) -> None:
    env = seal(BOM_CTX, b"hello", [ALICE.recipient()], rng=seeded_rng(b"e")).envelope
    assert both(js, {"kind": "envelope", "input": b64(env), "holder": holder(ALICE),
                     "expected": ctx_json(BOM_CTX)}).startswith("ok ")
    assert both(js, {"kind": "header", "input": b64(env)}).startswith("ok ")


def test_bom_in_a_grant_field_is_kept(js: JsReaders) -> None:
    env = seal(BOM_CTX, b"hello", [ALICE.recipient()], rng=seeded_rng(b"e")).envelope
    grant = make_grant(open_envelope(env, ALICE), ALICE, BOB.recipient(), rng=seeded_rng(b"g"))
    assert both(js, {"kind": "grant", "input": b64(grant)}).startswith("ok ")


# -- part numbers: part 0 is the envelope text, never a part stream --------------------------

@pytest.mark.parametrize("part", [0, 2**32])
def test_part_number_outside_1_to_2_32_is_refused(js: JsReaders, part: int) -> None:
    key = bytes(range(32))
    stream = encrypt_part_bytes(CTX, key, 1, b"x", rng=seeded_rng(b"p"))
    stream = stream[:6] + (part % 2**32).to_bytes(4, "big") + stream[10:]
    assert both(js, {"kind": "part", "input": b64(stream), "context": ctx_json(CTX),
                     "message_key": key.hex(), "part": part}) == "error ValueError"


# -- .pub text: lines end in \n (optionally \r\n); only ASCII space, tab, CR are trimmed ------

PUB = ALICE.to_pub_file().decode("utf-8")


@pytest.mark.parametrize("text", [
    "\ufeff" + PUB,                              # a BOM (JS dropped it)
    PUB.replace("\n", "\r"),                     # old-Mac line ends (Python's splitlines split)
    PUB.replace("\n", "\u2028"),                 # Unicode line separator
    PUB.replace("\n", "\x85"),                   # NEL
    PUB.replace("\n", "\x0b"),                   # vertical tab
    PUB.replace("\nname:", "\n\u00a0name:"),     # non-ASCII space (both trimmed it)
    PUB.replace("\nname:", "\n\ufeffname:"),     # U+FEFF before a line (JS trimmed it)
    PUB.replace("\nname:", "\n\x1cname:"),       # a separator only Python treated as space
])
def test_pub_file_odd_line_ends_and_spaces_are_refused(js: JsReaders, text: str) -> None:
    assert both(js, {"kind": "pubfile", "input": b64(text.encode("utf-8"))}) == \
        "error InvalidPublicKey"


@pytest.mark.parametrize("text", [
    PUB.replace("\n", "\r\n"), PUB.replace("\n", " \t\n"), "\n\n" + PUB + "\n\n",
    PUB.rstrip("\n"),
])
def test_pub_file_crlf_blank_lines_and_trailing_spaces_are_accepted(js: JsReaders,
                                                                    text: str) -> None:
    assert both(js, {"kind": "pubfile", "input": b64(text.encode("utf-8"))}).startswith("ok ")


def test_name_starting_with_bom_is_refused(js: JsReaders) -> None:
    """Python took "\\ufeffAlice" as a name; JS's trim() refused it. Both refuse now."""
    pub = _pub_with_name("\ufeffAlice")
    assert both(js, {"kind": "pubfile", "input": b64(pub)}) == "error InvalidPublicKey"


def _pub_with_name(name: str) -> bytes:
    """A correctly self-signed .pub for a name the writer would refuse."""
    import base64

    from crypto.identity import BINDING_PURPOSE, _binding_blob

    blob = _binding_blob(name, ALICE.box_public, ALICE.sign_public)
    sig = ALICE.sign(BINDING_PURPOSE, blob)
    return b"hotline-public-key-v1\n" + base64.b64encode(blob + sig) + b"\n"


# -- signed bodies: strict UTF-8 JSON, canonical base64, well-formed text ---------------------

def _body(text: str = "hi") -> dict[str, object]:
    return json.loads(signed_body(text, ALICE.fingerprint, sign_message(ALICE, CTX, text)))


def _signed(raw: bytes) -> dict[str, object]:
    return {"kind": "signed", "input": b64(raw), "direction": "out", "context": ctx_json(CTX),
            "keys": [b64(ALICE.to_pub_file())]}


def test_non_canonical_base64_signature_is_refused(js: JsReaders) -> None:
    doc = _body()
    s = str(doc["signature"])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    doc["signature"] = s[:-3] + alphabet[alphabet.index(s[-3]) | 1] + "=="
    verdict = both(js, _signed(json.dumps(doc).encode()))
    assert verdict == digest({"ok": True, "result": {"status": "invalid",
                                                     "fingerprint": ALICE.fingerprint,
                                                     "name": None}})


def test_lone_surrogate_text_is_invalid_not_a_crash(js: JsReaders) -> None:
    raw = json.dumps(_body()).replace('"text": "', '"text": "\\ud800').encode()
    verdict = both(js, _signed(raw))
    assert verdict == digest({"ok": True, "result": {"status": "invalid",
                                                     "fingerprint": ALICE.fingerprint,
                                                     "name": None}})


@pytest.mark.parametrize("raw", [
    b"\xef\xbb\xbf" + json.dumps(_body()).encode(),
    json.dumps(_body()).encode("utf-16"),
    json.dumps({**_body(), "x": float("nan")}).encode(),
])
def test_body_that_is_not_strict_utf8_json_is_refused(js: JsReaders, raw: bytes) -> None:
    assert both(js, _signed(raw)) == "error ValueError"


@pytest.mark.parametrize("raw", [
    b"[" * 5000 + b"]" * 5000,                                 # Python: RecursionError (a crash)
    b'{"v":2,"a":' + b"[" * 65 + b"]" * 65 + b"}",             # deeper than SPEC §11 allows
])
def test_body_nested_too_deeply_is_refused(js: JsReaders, raw: bytes) -> None:
    assert both(js, _signed(raw)) == "error ValueError"


def test_body_nested_to_the_limit_and_brackets_in_strings_are_fine(js: JsReaders) -> None:
    doc = {**_body(), "a": json.loads("[" * 63 + "]" * 63), "b": "[[[[" * 40}
    assert both(js, _signed(json.dumps(doc).encode())).startswith("ok ")


def test_body_with_a_huge_integer_is_read_alike(js: JsReaders) -> None:
    """Python's int() refuses more than 4300 digits (ValueError); JSON.parse gives Infinity."""
    raw = json.dumps(_body()).replace('"v": 2', '"v": 2, "n": ' + "9" * 5000).encode()
    assert both(js, _signed(raw)).startswith("ok ")
