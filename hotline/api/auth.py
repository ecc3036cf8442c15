"""Advocate login: Ed25519 challenge–response, then a short-lived bearer token.

The advocate signs ``hotline-auth-v1`` over the server origin, the instance
id, their fingerprint, a single-use server nonce and an expiry ≤ 60 s
(CRYPTO.md §9). Tokens are random, stored only as hashes, live ≤ 15 minutes
and die with the advocate: every request re-checks that the advocate is active.

Challenges are stateless: the nonce is 16 random bytes and a MAC, under a
server subkey, of those bytes, the fingerprint and the expiry. Asking for
challenges therefore costs the server nothing it keeps, so no flood of them
can lock anyone out (a pending pool did), and any front end can check any
challenge. A nonce is recorded only when a login with it succeeds (until it
expires), which is what single use has to stop: replaying a captured
signature. An unknown key and a known key with a wrong signature get the
same answer after the same work, so the login says nothing about who is
registered.

The client also says which origin it signed for (the address it signed in
at). One the server does not answer at (its public URL, or an operator's
``service.extra_origins``) is refused first, with its own answer saying
which addresses to use: that answer depends only on the address, never on
the key, so it says nothing about who is registered either.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from crypto import BadSignature, CryptoError, Identity, PublicIdentity, verify_login

from ..domain import AdvocateId, Role
from ..errors import Unauthorized
from ..logging import get_logger
from ..store.queries import utc_now_text
from ..store.seam import Store

NONCE_BYTES = 32
_RANDOM_BYTES = 16
_CHALLENGE_PERSON = b"hl-login-chal"
REFUSED = ("the login was refused: this key is not registered on this server, or its signature "
           "does not match (check the server address you signed in at, and your key)")


class WrongOrigin(Unauthorized):
    """The login was signed for an address this server does not answer at."""


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
    def __init__(self, *, db: Store, origin: str, instance_id: str, challenge_ttl: float,
                 token_ttl: float, mac_key: bytes, clock: Callable[[], float] = time.time,
                 extra_origins: tuple[str, ...] = ()) -> None:
        if len(mac_key) < 32:
            raise ValueError("the challenge MAC key must be at least 32 bytes")
        self._db, self._origin, self._instance_id = db, origin, instance_id
        self._challenge_ttl, self._token_ttl, self._clock = challenge_ttl, token_ttl, clock
        self._mac_key = mac_key
        self._origins = (origin, *(o for o in extra_origins if o != origin))
        # A real public key to verify against when the fingerprint is unknown, so that
        # both refusals cost the same work.
        self._decoy = Identity.generate("decoy").public

    def _tag(self, fingerprint: str, random: bytes, expires_at: int) -> bytes:
        data = b"".join(_lp(x) for x in (fingerprint.encode(), random,
                                         str(expires_at).encode(), self._instance_id.encode()))
        return hashlib.blake2b(data, digest_size=NONCE_BYTES - _RANDOM_BYTES, key=self._mac_key,
                               person=_CHALLENGE_PERSON).digest()

    def challenge(self, fingerprint: str) -> Challenge:
        """A nonce for anyone who asks: answering 'unknown' would list who is registered."""
        expires = int(self._clock()) + int(self._challenge_ttl)
        random = secrets.token_bytes(_RANDOM_BYTES)
        nonce = random + self._tag(fingerprint, random, expires)
        return Challenge(nonce, expires, self._origin, self._instance_id)

    def _check_challenge(self, fingerprint: str, nonce: bytes, expires_at: int, now: int) -> None:
        fresh = now <= expires_at <= now + int(self._challenge_ttl)
        genuine = len(nonce) == NONCE_BYTES and hmac.compare_digest(
            nonce[_RANDOM_BYTES:], self._tag(fingerprint, nonce[:_RANDOM_BYTES], expires_at))
        if not (fresh and genuine):
            raise Unauthorized("the login challenge is unknown, used or expired")

    def signed_origin(self, claimed: str | None) -> str:
        """The origin a login was signed for: the client's, if this server answers there."""
        if claimed is None:
            return self._origin
        origin = claimed.strip().rstrip("/").lower()
        if origin not in self._origins:
            get_logger("hotline.auth").warning("login.wrong_origin", signed_for=origin[:200],
                                               answers_at=list(self._origins))
            listed = " or ".join(self._origins)
            raise WrongOrigin(
                f"this server signs advocates in at {listed}, not at {origin[:200]}: open the "
                f"console at {self._origins[0]}/console (or, for the CLI, use --server "
                f"{self._origins[0]}); an operator can add {origin[:200]} to "
                "service.extra_origins (HOTLINE_EXTRA_ORIGINS)")
        return origin

    async def login(self, fingerprint: str, nonce: bytes, expires_at: int,
                    signature: bytes, origin: str | None = None) -> tuple[str, int, Advocate]:
        now = int(self._clock())
        signed_for = self.signed_origin(origin)
        self._check_challenge(fingerprint, nonce, expires_at, now)
        row = await self._db.fetchone(
            "SELECT id, name, fingerprint, role, pub_file FROM advocates"
            " WHERE fingerprint = ? AND active = 1", (fingerprint,))
        try:
            public = (PublicIdentity.from_pub_file(bytes(row["pub_file"])) if row is not None
                      else self._decoy)
            verify_login(public, signature, signed_for, self._instance_id, fingerprint,
                         nonce, expires_at)
        except (BadSignature, CryptoError):
            raise Unauthorized(REFUSED) from None
        if row is None:  # the decoy's signature cannot verify; this is belt and braces
            raise Unauthorized(REFUSED)
        advocate = Advocate(AdvocateId(row["id"]), row["name"], row["fingerprint"],
                            Role(row["role"]))
        token = secrets.token_urlsafe(32)
        token_expires = now + int(self._token_ttl)
        used = hashlib.sha256(nonce).digest()

        def store(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM api_tokens WHERE expires_at < ?", (now,))
            conn.execute("DELETE FROM login_nonces WHERE expires_at < ?", (now,))
            if conn.execute("INSERT INTO login_nonces (nonce_hash, expires_at)"
                            " VALUES (?,?) ON CONFLICT DO NOTHING", (used, expires_at)).rowcount == 0:
                raise Unauthorized("the login challenge is unknown, used or expired")
            conn.execute("INSERT INTO api_tokens (token_hash, advocate_id, expires_at)"
                         " VALUES (?,?,?)", (token_hash(token), advocate.id, token_expires))
            conn.execute("INSERT INTO audit (at, actor, action) VALUES (?, ?, ?)",
                         (utc_now_text(), advocate.fingerprint, "login"))

        await self._db.write(store)
        return token, token_expires, advocate

    async def logout(self, authorization: str | None) -> None:
        """Forget a token now (the console does this when it locks), not at its expiry."""
        if authorization and authorization.startswith("Bearer "):
            digest = token_hash(authorization[7:].strip())
            await self._db.write(lambda conn: conn.execute(
                "DELETE FROM api_tokens WHERE token_hash = ?", (digest,)).rowcount)

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


def _lp(b: bytes) -> bytes:
    return len(b).to_bytes(4, "big") + b
