"""crypto_box_seal with injectable randomness.

libsodium's crypto_box_seal draws its ephemeral key internally, which would
make envelope test vectors unreproducible. This builds the byte-identical
construction from libsodium primitives: ephemeral esk = rng(32),
epk = X25519(esk), nonce = BLAKE2b-192(epk || recipient_pk),
output = epk || crypto_box_easy(message, nonce, recipient_pk, esk).
Opening always uses libsodium's own crypto_box_seal_open, and the tests check
the two agree in both directions.
"""

from __future__ import annotations

import hashlib

import nacl.bindings
import nacl.encoding
import nacl.exceptions
import nacl.hash

from crypto._encoding import Rng, random_bytes

SEAL_OVERHEAD = 48  # 32-byte ephemeral public key + 16-byte Poly1305 tag


def seal_box(message: bytes, recipient_pk: bytes, rng: Rng) -> bytes:
    """Seal ``message`` anonymously to ``recipient_pk`` (ValueError for an unusable key)."""
    if len(recipient_pk) != 32:
        raise ValueError("recipient public key must be 32 bytes")
    esk = random_bytes(rng, 32)
    epk = nacl.bindings.crypto_scalarmult_base(esk)
    nonce = hashlib.blake2b(epk + recipient_pk, digest_size=24).digest()
    try:
        boxed = nacl.bindings.crypto_box(message, nonce, recipient_pk, esk)
    except nacl.exceptions.CryptoError as exc:  # low-order point: no shared secret
        raise ValueError("recipient public key is not usable") from exc
    return epk + boxed


def open_box(sealed: bytes, public: bytes, secret: bytes) -> bytes | None:
    """libsodium crypto_box_seal_open; None if it does not open for this key pair."""
    try:
        return nacl.bindings.crypto_box_seal_open(sealed, public, secret)
    except nacl.exceptions.CryptoError:
        return None
