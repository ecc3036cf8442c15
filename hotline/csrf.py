"""CSRF protection for the reporter form without a session.

A random cookie (SameSite=Strict, HttpOnly) plus a form token that is an HMAC
of that cookie and the time it was issued, under a server subkey. A forged
cross-site post has neither the cookie's value nor a way to compute the
token; an old page expires. Nothing about the reporter is in either value.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time

from .server_secret import ServerSecret

COOKIE = "hl_csrf"
_LABEL = "csrf-form-token"


def new_cookie_value() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")


def issue(secret: ServerSecret, cookie: str, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    mac = secret.hash(_LABEL, f"{cookie}|{issued}".encode(), None)
    return f"{issued}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def verify(secret: ServerSecret, cookie: str | None, token: str | None, max_age: float,
           now: float | None = None) -> str | None:
    """None if valid, else the reason (for the log, never shown with secrets)."""
    if not cookie or not token:
        return "missing"
    issued_text, _, _mac = token.partition(".")
    if not (issued_text.isascii() and issued_text.isdigit()) or len(issued_text) > 12:
        return "malformed"
    current = time.time() if now is None else now
    if current - int(issued_text) > max_age or int(issued_text) > current + 60:
        return "expired"
    for version in secret.keys:
        mac = secret.hash(_LABEL, f"{cookie}|{issued_text}".encode(), version)
        expected = f"{issued_text}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"
        if hmac.compare_digest(expected.encode(), token.encode()):
            return None
    return "mismatch"
