"""Short-lived values the server seals for itself and parks in a cookie.

The pages after a reporter's post are reached by a redirect (POST → 303 →
GET), so the browser's session history holds no post body. Those pages still
need the receipt (to show it once, or to open the conversation), and it must
never be in a URL. It travels instead as a cookie that only this server can
open: XSalsa20-Poly1305 (SecretBox) under a labelled subkey of the server
secret, with its own expiry inside. A copy of the browser profile holds only
ciphertext; the receipt view is single-use besides (``store/used_once.py``).
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nacl.bindings import crypto_secretbox_easy
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from ..server_secret import ServerSecret

RECEIPT_COOKIE = "hl_receipt"
THREAD_COOKIE = "hl_thread"
RECEIPT_LABEL = "sealed-cookie-receipt-view"
THREAD_LABEL = "sealed-cookie-thread-view"
REPORT_BOX_LABEL = "resubmitted-form-receipt"
_HEADER = struct.Struct(">Q")
_MAX_COOKIE = 400


@dataclass(frozen=True)
class Sealed:
    """What a sealed cookie carried: a receipt's entropy and the page language."""

    entropy: bytes = field(repr=False)
    lang: str
    expires: int
    urgent: bool = False


def seal(secret: ServerSecret, label: str, entropy: bytes, lang: str, expires: int,
         urgent: bool = False, rng: Callable[[int], bytes] = os.urandom) -> str:
    """``rng`` gives the random nonce (a report's ``hotline.entropy.Draw`` on the post)."""
    plain = (_HEADER.pack(expires) + bytes([int(urgent), len(entropy)]) + entropy
             + lang.encode()[:16])
    sealed = _secretbox(secret.subkey(label), plain, rng(SecretBox.NONCE_SIZE))
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def _secretbox(key: bytes, plain: bytes, nonce: bytes) -> bytes:
    """``SecretBox(key).encrypt(plain, nonce)``'s bytes (nonce, then MAC and ciphertext), by
    the binding it wraps: the same libsodium call without the wrapper's objects and checks
    (~3 µs of the event loop per box; two boxes a report). ``SecretBox.decrypt`` opens them."""
    return nonce + crypto_secretbox_easy(plain, nonce, key)


def unseal(secret: ServerSecret, label: str, value: str | None,
           now: float | None = None) -> Sealed | None:
    """The sealed content if it opens under any key version and has not expired."""
    if not value or len(value) > _MAX_COOKIE:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    for version in secret.keys:
        try:
            plain = SecretBox(secret.subkey(label, version)).decrypt(raw)
        except (CryptoError, ValueError):
            continue
        (expires,) = _HEADER.unpack_from(plain)
        if expires < (time.time() if now is None else now):
            return None
        urgent, n = plain[_HEADER.size], plain[_HEADER.size + 1]
        start = _HEADER.size + 2
        entropy = plain[start:start + n]
        lang = plain[start + n:].decode(errors="replace")
        return Sealed(entropy, lang, expires, urgent == 1)
    return None


def box_key(secret: ServerSecret, token_text: str) -> bytes:
    """The key of a report's receipt box: needs both the server secret and the whole token."""
    return secret.hash(REPORT_BOX_LABEL, token_text.encode())


def seal_for_token(secret: ServerSecret, token_text: str, entropy: bytes,
                   rng: Callable[[int], bytes] = os.urandom) -> bytes:
    return _secretbox(box_key(secret, token_text), entropy, rng(SecretBox.NONCE_SIZE))


def open_for_token(secret: ServerSecret, token_text: str, box: bytes) -> bytes | None:
    try:
        return bytes(SecretBox(box_key(secret, token_text)).decrypt(box))
    except (CryptoError, ValueError):
        return None
