"""The reporter form's token: CSRF protection, single use and a minimum age.

A random cookie (SameSite=Strict, HttpOnly) plus a form token
``<issued>.<nonce>.<mac>``: the time it was issued, 16 random bytes, and an
HMAC of cookie, time and nonce under a server subkey. A forged cross-site
post has neither the cookie's value nor a way to compute the token; an old
page expires. The nonce makes each token single-use: its keyed hash goes into
the database's used set (``store/used_once.py``) with what it paid for, so a
reload, a double click or a replayed post never sends anything twice. A token
younger than the minimum age is a script's, not a person's: the handler waits
out the rest (see ``hotline/channels/web.py`` for why it does not answer with
a page). Nothing about the reporter is in any of these values.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from dataclasses import dataclass, field

from .server_secret import ServerSecret

COOKIE = "hl_csrf"
_LABEL = "csrf-form-token"
_USED_LABEL = "form-token-used"
_NONCE_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def new_cookie_value() -> str:
    return _b64(secrets.token_bytes(24))


@dataclass(frozen=True)
class FormToken:
    """A verified token: when it was issued and its single-use identity."""

    issued: int
    text: str = field(repr=False)
    nonce: str = field(repr=False)
    version: int | None = None  # the server-secret version its MAC verified under

    def used_key(self, secret: ServerSecret) -> bytes:
        """Its key in the used set: a keyed hash, so the database cannot replay it.

        Under the version the token was issued with, so a token used before a
        rotation is still found used after it (hotline rotate-secret)."""
        return secret.hash(_USED_LABEL, self.nonce.encode(), self.version)

    def wait(self, min_age: float, now: float | None = None) -> float:
        """Seconds still to wait before this token is old enough (0 when it is)."""
        current = time.time() if now is None else now
        return max(0.0, self.issued + min_age - current)


def _mac(secret: ServerSecret, cookie: str, issued: str, nonce: str, version: int | None) -> str:
    return _b64(secret.hash(_LABEL, f"{cookie}|{issued}|{nonce}".encode(), version))


def issue(secret: ServerSecret, cookie: str, now: float | None = None) -> str:
    issued = str(int(time.time() if now is None else now))
    nonce = _b64(secrets.token_bytes(_NONCE_BYTES))
    return f"{issued}.{nonce}.{_mac(secret, cookie, issued, nonce, None)}"


def check(secret: ServerSecret, cookie: str | None, token: str | None, max_age: float,
          now: float | None = None) -> FormToken | str:
    """The verified token, or the reason it is refused (for the log only)."""
    if not cookie or not token:
        return "missing"
    issued_text, nonce, mac = [*token.split("."), "", ""][:3]
    if not (issued_text.isascii() and issued_text.isdigit()) or len(issued_text) > 12:
        return "malformed"
    if not nonce or not mac or len(token) > 200 or token.count(".") != 2:
        return "malformed"
    current = time.time() if now is None else now
    if current - int(issued_text) > max_age or int(issued_text) > current + 60:
        return "expired"
    for version in secret.keys:
        expected = _mac(secret, cookie, issued_text, nonce, version)
        if hmac.compare_digest(expected.encode(), mac.encode()):
            return FormToken(int(issued_text), token, nonce, version)
    return "mismatch"


def verify(secret: ServerSecret, cookie: str | None, token: str | None, max_age: float,
           now: float | None = None) -> str | None:
    """None if valid, else the reason (for the log, never shown with secrets)."""
    result = check(secret, cookie, token, max_age, now)
    return result if isinstance(result, str) else None
