"""Advocate login challenge signatures (CRYPTO.md §9).

The signed bytes name the origin the client believes it is talking to, the
instance, the advocate, a single-use server nonce and a short expiry, so a
signature cannot be replayed elsewhere, later, or as anyone else. Nonce
single-use, the <= 60 s expiry window and tokens are enforced by the service.
"""

from __future__ import annotations

from crypto._encoding import canonical, u64
from crypto.errors import BadSignature
from crypto.identity import Identity, PublicIdentity, verify_raw
from crypto.kdf import is_fingerprint

LOGIN_PREFIX = b"hotline-auth-v1\x00"
NONCE_BYTES = 32


def login_message(
    origin: str, instance_id: str, fingerprint: str, nonce: bytes, expires_at: int
) -> bytes:
    """LOGIN_PREFIX || lp32(origin) || lp32(instance_id) || lp32(fingerprint)
    || lp32(nonce) || lp32(u64be(expires_at)); lp32 = u32 big-endian length + bytes."""
    if not origin or not instance_id:
        raise ValueError("origin and instance_id must not be empty")
    if not is_fingerprint(fingerprint):
        raise ValueError("fingerprint is not in canonical form")
    if len(nonce) != NONCE_BYTES:
        raise ValueError("login nonce must be 32 bytes")
    if not 0 <= expires_at < 2**64:
        raise ValueError("expires_at must fit in 64 bits")
    fields = (origin.encode("utf-8"), instance_id.encode("utf-8"), fingerprint.encode("ascii"))
    return LOGIN_PREFIX + canonical(*fields, nonce, u64(expires_at))


def sign_login(
    identity: Identity,
    origin: str,
    instance_id: str,
    fingerprint: str,
    nonce: bytes,
    expires_at: int,
) -> bytes:
    """Ed25519 over exactly ``login_message`` (its prefix is the purpose label).

    The fingerprint is signed as given: claiming someone else's is harmless
    because ``verify_login`` checks it against the verifying key.
    """
    return identity._sign_exact(login_message(origin, instance_id, fingerprint, nonce, expires_at))


def verify_login(
    public: PublicIdentity,
    signature: bytes,
    origin: str,
    instance_id: str,
    fingerprint: str,
    nonce: bytes,
    expires_at: int,
) -> None:
    """Raise BadSignature unless ``public`` signed this exact login challenge.

    Inputs come from the network, so malformed ones (wrong nonce length, a
    fingerprint that is not this key's) are BadSignature too, never ValueError.
    Expiry, nonce single use and tokens are checked by the service.
    """
    if fingerprint != public.fingerprint:
        raise BadSignature("fingerprint does not belong to this key")
    try:
        message = login_message(origin, instance_id, fingerprint, nonce, expires_at)
    except ValueError:
        raise BadSignature("malformed login challenge") from None
    verify_raw(public.sign_public, message, signature)
