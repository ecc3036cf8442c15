"""Signatures on what advocates write (SPEC.md §11).

An envelope is not sender-authenticated: anyone holding the recipients'
public keys can make one, so a sealed body saying "from Alice" proves
nothing. Every advocate-written message therefore carries its author's
Ed25519 signature over the message's context and exact text, under its own
purpose label. Readers verify it with a self-signed public key and show the
name from that key, never a name written inside the body. Binding the
context (instance, tip, message id, direction, channel) means a signed text
cannot be replayed as another message, into another tip or as a note.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

from crypto._encoding import canonical
from crypto.envelope import EnvelopeContext
from crypto.errors import BadSignature
from crypto.identity import SIGNATURE_BYTES, Identity, PublicIdentity
from crypto.kdf import is_fingerprint

MESSAGE_PURPOSE = "advocate-message"
"""Purpose label of a message signature (distinct from login, key binding and grants)."""
BODY_VERSION = 2
"""Sealed body version 2 = signed; version 1 bodies were written before signatures."""


def context_fields(ctx: EnvelopeContext) -> tuple[bytes, ...]:
    """The five context strings, UTF-8, in header order."""
    return tuple(
        s.encode("utf-8")
        for s in (ctx.instance_id, ctx.tip_id, ctx.message_id, ctx.direction, ctx.channel)
    )


def message_to_sign(ctx: EnvelopeContext, text: str) -> bytes:
    """canonical(instance_id, tip_id, message_id, direction, channel, utf8(text))."""
    return canonical(*context_fields(ctx), text.encode("utf-8"))


def sign_message(identity: Identity, ctx: EnvelopeContext, text: str) -> bytes:
    """The author's Ed25519 signature over (context, text) under MESSAGE_PURPOSE."""
    return identity.sign(MESSAGE_PURPOSE, message_to_sign(ctx, text))


def verify_message(
    public: PublicIdentity, ctx: EnvelopeContext, text: str, signature: bytes
) -> None:
    """Raise BadSignature unless ``public`` signed exactly this text in this context."""
    public.verify(MESSAGE_PURPOSE, message_to_sign(ctx, text), signature)


def signed_body(text: str, signer: str, signature: bytes) -> bytes:
    """The sealed plaintext of a signed message: compact, sorted-key JSON (UTF-8).

    ``{"signature": base64, "signer": fingerprint, "text": text, "v": 2}``. The
    JSON layout is not what is signed (the canonical bytes above are), so any
    JSON writer may produce it; this one is deterministic for the vectors.
    """
    if not is_fingerprint(signer):
        raise ValueError("signer must be a canonical fingerprint")
    if len(signature) != SIGNATURE_BYTES:
        raise ValueError("signature must be 64 bytes")
    doc = {"v": BODY_VERSION, "text": text, "signer": signer,
           "signature": base64.b64encode(signature).decode("ascii")}
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


MAX_BODY_DEPTH = 64
"""Deepest nesting of arrays/objects a body may have (ours have 3); SPEC.md §11."""
_DEPTH_TOKEN = re.compile(r'"(?:[^"\\]+|\\[\s\S])*"?|[\[\]{}]')
"""A string (to its closing quote, or to the end: linear, never re-scanned) or a bracket."""
_INT_DIGITS_MAX = 4300
"""CPython's int() limit; a longer JSON integer is read as a float, as JSON.parse does."""


def _no_constant(name: str) -> object:
    raise ValueError(f"message body is not JSON ({name} is not JSON)")


def _json_int(digits: str) -> int | float:
    return int(digits) if len(digits) <= _INT_DIGITS_MAX else float(digits)


def _too_deep(text: str) -> bool:
    """Bracket depth outside strings, by the same scan as hlgrants.js (before parsing, so
    neither reader's own recursion limit decides)."""
    if text.count("[") + text.count("{") <= MAX_BODY_DEPTH:
        return False  # cannot be deeper: skips the scan for every ordinary body
    depth = 0
    for m in _DEPTH_TOKEN.finditer(text):
        token = m.group()
        depth += 1 if token in ("[", "{") else -1 if token in ("]", "}") else 0
        if depth > MAX_BODY_DEPTH:
            return True
    return False


def decode_body(raw: bytes) -> object:
    """A sealed body as readers must decode it: strict UTF-8 JSON (RFC 8259), no BOM.

    ``json.loads(bytes)`` would also take UTF-16/32 and a UTF-8 BOM, and ``NaN``;
    the console's ``JSON.parse`` takes none of them, so neither does this (ValueError).
    Nesting deeper than MAX_BODY_DEPTH is refused before parsing (Python's json
    would hit its recursion limit at a depth JavaScript reads).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("message body is not UTF-8") from None
    if _too_deep(text):
        raise ValueError("message body is nested too deeply")
    return json.loads(text, parse_constant=_no_constant, parse_int=_json_int)


@dataclass(frozen=True)
class SignedText:
    """The signed fields of a version-2 body, parsed strictly (not yet verified)."""

    text: str
    signer: str
    signature: bytes


def parse_signed(doc: object) -> SignedText:
    """Pick the signed fields out of a decoded body; BadSignature if any is malformed."""
    if not isinstance(doc, dict) or doc.get("v") != BODY_VERSION:
        raise BadSignature("not a signed (version 2) message")
    text, signer, sig = doc.get("text"), doc.get("signer"), doc.get("signature")
    if not isinstance(text, str) or not isinstance(signer, str) or not is_fingerprint(signer):
        raise BadSignature("the signed message is malformed")
    try:  # JSON may carry a lone surrogate ("\ud800"), which has no UTF-8 form to sign
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadSignature("the signed message is malformed") from None
    if not isinstance(sig, str):
        raise BadSignature("the signed message has no signature")
    try:
        raw = base64.b64decode(sig, validate=True)
    except ValueError:
        raise BadSignature("the signature is not base64") from None
    if len(raw) != SIGNATURE_BYTES:
        raise BadSignature("signature has the wrong length")
    if base64.b64encode(raw).decode("ascii") != sig:  # unused bits set: libsodium.js refuses
        raise BadSignature("the signature is not canonical base64")
    return SignedText(text, signer, raw)
