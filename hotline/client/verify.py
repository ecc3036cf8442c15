"""Who wrote a message, and through whom we may read it, checked on this device.

The server lists self-signed public keys (``keys`` beside a tip); each is
verified here (self-signature, fingerprint) before it is used. A message's
author is the key whose signature over (context, text) verifies; the name
shown is the one in that key's signed .pub file, never a name written inside
a sealed body. A message we were not sealed to opens only through a key
grant that verifies (``crypto.open_granted``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crypto import (
    BadSignature,
    BoxKeyHolder,
    CryptoError,
    EnvelopeContext,
    NotARecipient,
    OpenedMessage,
    PublicIdentity,
    open_envelope,
    open_granted,
    parse_signed,
    verify_message,
)

UNSIGNED = "unsigned (written before signatures)"
"""How an advocate message without a signature is shown: not trusted, not hidden."""


def verified_keys(entries: list[dict[str, Any]]) -> dict[str, PublicIdentity]:
    """The server's list of public keys, keeping only those that verify as claimed."""
    out: dict[str, PublicIdentity] = {}
    for entry in entries:
        try:
            pub = PublicIdentity.from_pub_file(base64.b64decode(entry["pub_file"]))
        except (CryptoError, KeyError, TypeError, ValueError):
            continue
        if pub.fingerprint == entry.get("fingerprint"):
            out[pub.fingerprint] = pub
    return out


@dataclass(frozen=True)
class Opened:
    message: OpenedMessage
    granted_by: str | None  # fingerprint of the grant's signer, if opened through a grant


def open_message(envelope: bytes, holder: BoxKeyHolder, grants: list[bytes],
                 keys: Mapping[str, PublicIdentity], expected: EnvelopeContext) -> Opened:
    """Open as a recipient, else through a verified grant; CryptoError says why not."""
    try:
        return Opened(open_envelope(envelope, holder, expected=expected), None)
    except NotARecipient:
        if not grants:
            raise
    granted = open_granted(envelope, holder, grants, keys, expected=expected)
    return Opened(granted.opened, granted.grant.grantor)


def who(fingerprint: str, keys: Mapping[str, PublicIdentity]) -> dict[str, str | None]:
    """A fingerprint with the name from its verified key (None if the key is unknown)."""
    pub = keys.get(fingerprint)
    return {"fingerprint": fingerprint, "name": None if pub is None else pub.name}


def authorship(direction: str, doc: Any, ctx: EnvelopeContext,
               keys: Mapping[str, PublicIdentity]) -> dict[str, Any] | None:
    """The verified author of an advocate message (reply or note); None for a reporter's.

    ``status`` is ``verified`` (name and fingerprint from the verified key),
    ``unsigned`` (a version-1 body, written before signatures) or ``invalid``
    (a signature that is malformed, by an unknown key, or does not verify).
    """
    if direction == "in":
        return None
    if not isinstance(doc, dict) or doc.get("v") != 2:
        return {"status": "unsigned", "label": UNSIGNED, "fingerprint": None, "name": None}
    try:
        signed = parse_signed(doc)
        public = keys.get(signed.signer)
        if public is None:
            raise BadSignature("signed by a key this server does not list")
        verify_message(public, ctx, signed.text, signed.signature)
    except BadSignature as e:
        claimed = doc.get("signer") if isinstance(doc.get("signer"), str) else None
        return {"status": "invalid", "label": f"NOT VERIFIED: {e.reason}",
                "fingerprint": claimed, "name": None}
    return {"status": "verified", "label": f"{public.name} ({public.fingerprint})",
            "fingerprint": public.fingerprint, "name": public.name}
