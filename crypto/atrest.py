"""At-rest wrapping for crypto-shredding (CRYPTO.md §13).

Envelopes are sealed to long-lived advocate keys, so deleting a tip's rows is
not enough: copies survive in backups, the WAL and free pages. Wrapping each
stored blob under a per-tip storage key (held outside the database) means
destroying that one key makes every copy unreadable. The key store and the
delete sequence are done by the service.
"""

from __future__ import annotations

import nacl.bindings as sodium
import nacl.exceptions

from crypto._encoding import DEFAULT_RNG, Rng, canonical, random_bytes, u8
from crypto.envelope import check_preamble
from crypto.errors import DecryptionError
from crypto.kdf import derive_subkey

MAGIC = b"HLAR"
VERSION = 1
SUITE = 1
"""Suite 1: XChaCha20-Poly1305-IETF under BLAKE2b subkey "at-rest-wrap" of the storage key."""
SUPPORTED = frozenset({(VERSION, SUITE)})
KEY_BYTES = 32
NONCE_BYTES = 24
TAG_BYTES = 16


def new_storage_key(rng: Rng = DEFAULT_RNG) -> bytes:
    """A fresh 32-byte per-tip storage key."""
    return random_bytes(rng, KEY_BYTES)


def _key_and_ad(storage_key: bytes, label: str) -> tuple[bytes, bytes]:
    """The label (e.g. the tip id) is AD, so a blob cannot be moved to another tip's row."""
    if len(storage_key) != KEY_BYTES:
        raise ValueError("storage key must be 32 bytes")
    if not label:
        raise ValueError("label must not be empty")
    ad = canonical(MAGIC, u8(VERSION), u8(SUITE), label.encode("utf-8"))
    return derive_subkey(storage_key, "at-rest-wrap"), ad


def wrap(storage_key: bytes, blob: bytes, *, label: str, rng: Rng = DEFAULT_RNG) -> bytes:
    """MAGIC || version || suite || nonce(24) || XChaCha20-Poly1305(blob). rng: nonce."""
    key, ad = _key_and_ad(storage_key, label)
    nonce = random_bytes(rng, NONCE_BYTES)
    ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(blob, ad, nonce, key)
    return MAGIC + u8(VERSION) + u8(SUITE) + nonce + ciphertext


def unwrap(storage_key: bytes, wrapped: bytes, *, label: str) -> bytes:
    """Inverse of ``wrap``: UnsupportedFormat for unknown versions, else DecryptionError."""
    key, ad = _key_and_ad(storage_key, label)
    check_preamble(wrapped, MAGIC, SUPPORTED)
    body = wrapped[len(MAGIC) + 2 :]
    if len(body) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("truncated")
    try:
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            body[NONCE_BYTES:], ad, body[:NONCE_BYTES], key
        )
    except nacl.exceptions.CryptoError:
        raise DecryptionError("authentication failed") from None
