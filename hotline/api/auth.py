"""Advocate login: Ed25519 challenge–response, then a short-lived bearer token.

The advocate signs ``hotline-auth-v1`` over the server origin, the instance
id, their fingerprint, a single-use server nonce and an expiry ≤ 60 s
(CRYPTO.md §9). Tokens are random, stored only as hashes, live ≤ 15 minutes
and die with the advocate: every request re-checks that the advocate is active.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from crypto import BadSignature, CryptoError, PublicIdentity, verify_login

from ..domain import AdvocateId, Role
from ..errors import Unauthorized
from ..store import Database

NONCE_BYTES = 32
MAX_PENDING = 10_000


@dataclass(frozen=True)
class Advocate:
    id: AdvocateId
    name: str
    fingerprint: str
    role: Role


@dataclass(frozen=True)
class Challenge:
    nonce: bytes
    expires_at: int
    origin: str
    instance_id: str


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Authenticator:
    def __init__(self, *, db: Database, origin: str, instance_id: str, challenge_ttl: float,
                 token_ttl: float, clock: Callable[[], float] = time.time) -> None:
        self._db, self._origin, self._instance_id = db, origin, instance_id
        self._challenge_ttl, self._token_ttl, self._clock = challenge_ttl, token_ttl, clock
        self._pending: dict[bytes, tuple[str, int]] = {}

    def challenge(self, fingerprint: str) -> Challenge:
        """A nonce for anyone who asks: answering 'unknown' would list who is registered."""
        now = int(self._clock())
        self._expire(now)
        if len(self._pending) >= MAX_PENDING:
            raise Unauthorized("too many logins in progress; try again in a minute")
        nonce = secrets.token_bytes(NONCE_BYTES)
        expires = now + int(self._challenge_ttl)
        self._pending[nonce] = (fingerprint, expires)
        return Challenge(nonce, expires, self._origin, self._instance_id)

    def _expire(self, now: int) -> None:
        for nonce in [n for n, (_, exp) in self._pending.items() if exp < now]:
            del self._pending[nonce]

    async def login(self, fingerprint: str, nonce: bytes, expires_at: int,
                    signature: bytes) -> tuple[str, int, Advocate]:
        pending = self._pending.pop(nonce, None)  # single use, even when it fails
        now = int(self._clock())
        if pending is None or pending != (fingerprint, expires_at) or expires_at < now:
            raise Unauthorized("the login challenge is unknown, used or expired")
        row = await self._db.fetchone(
            "SELECT id, name, fingerprint, role, pub_file FROM advocates"
            " WHERE fingerprint = ? AND active = 1", (fingerprint,))
        if row is None:
            raise Unauthorized("this key is not registered")
        try:
            public = PublicIdentity.from_pub_file(bytes(row["pub_file"]))
            verify_login(public, signature, self._origin, self._instance_id, fingerprint,
                         nonce, expires_at)
        except (BadSignature, CryptoError):
            raise Unauthorized("the login signature is not valid") from None
        advocate = Advocate(AdvocateId(row["id"]), row["name"], row["fingerprint"],
                            Role(row["role"]))
        token = secrets.token_urlsafe(32)
        token_expires = now + int(self._token_ttl)

        def store(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM api_tokens WHERE expires_at < ?", (now,))
            conn.execute("INSERT INTO api_tokens (token_hash, advocate_id, expires_at)"
                         " VALUES (?,?,?)", (token_hash(token), advocate.id, token_expires))
            conn.execute("INSERT INTO audit (at, actor, action) VALUES (datetime('now'), ?, ?)",
                         (advocate.fingerprint, "login"))

        await self._db.write(store)
        return token, token_expires, advocate

    async def advocate_for(self, authorization: str | None) -> Advocate:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorized("log in first (no bearer token)")
        row = await self._db.fetchone(
            "SELECT a.id, a.name, a.fingerprint, a.role, t.expires_at FROM api_tokens t"
            " JOIN advocates a ON a.id = t.advocate_id WHERE t.token_hash = ? AND a.active = 1",
            (token_hash(authorization[7:].strip()),))
        if row is None or row["expires_at"] < self._clock():
            raise Unauthorized("the token is invalid or has expired; log in again")
        return Advocate(AdvocateId(row["id"]), row["name"], row["fingerprint"], Role(row["role"]))
