"""Epoch keys: per-tip storage keys wrapped under a key that rotates (CRYPTO.md §13).

Why: destroying a tip's storage key only shreds the tip if no copy of that key
survives. A server database keeps deleted rows in its WAL, dead tuples and
backups, where nothing can reach them. So the key store never holds a tip key
in clear: each is wrapped under the current *epoch key*, which lives in a file
outside every database. Rotation re-wraps the live tip keys under a new epoch
key and destroys the old file; from then on every lingering copy of a
shredded tip's key (wrapped under the old epoch) is dead.

Two formats, both pure functions:

* wrapped tip key: ``"HLEK" || version || suite || nonce(24) ||
  XChaCha20-Poly1305(tip key)`` under BLAKE2b subkey ``"tip-key-wrap"`` of the
  epoch key, with AD = canonical(magic, version, suite, epoch id, tip id): a
  wrapped key cannot be moved to another tip's row or passed off as belonging
  to another epoch.
* epoch key file: ``"HLEP" || version || lp(epoch id) || key(32) ||
  BLAKE2b-128(everything before)`` so a truncated, damaged or misnamed file is
  an error, never a silently wrong key.
"""

from __future__ import annotations

import re

import nacl.bindings as sodium
import nacl.exceptions
from nacl.encoding import RawEncoder
from nacl.hash import blake2b

from crypto._encoding import DEFAULT_RNG, Reader, Rng, canonical, random_bytes, u8
from crypto.envelope import check_preamble
from crypto.errors import CryptoError, DecryptionError
from crypto.kdf import derive_subkey

MAGIC = b"HLEK"
VERSION = 1
SUITE = 1
"""Suite 1: XChaCha20-Poly1305-IETF under BLAKE2b subkey "tip-key-wrap" of the epoch key."""
SUPPORTED = frozenset({(VERSION, SUITE)})
KEY_BYTES = 32
NONCE_BYTES = 24
TAG_BYTES = 16
WRAPPED_BYTES = len(MAGIC) + 2 + NONCE_BYTES + KEY_BYTES + TAG_BYTES
"""A wrapped tip key is always this long (78 bytes)."""

FILE_MAGIC = b"HLEP"
FILE_VERSION = 1
CHECK_BYTES = 16
EPOCH_ID = re.compile(r"^[0-9a-f]{16}$")
"""Epoch ids are 16 lower-case hex characters (random): safe as file names."""


class EpochFileError(CryptoError):
    """An epoch key file that is damaged, truncated or not the epoch it claims."""


def new_epoch_key(rng: Rng = DEFAULT_RNG) -> bytes:
    """A fresh 32-byte epoch key."""
    return random_bytes(rng, KEY_BYTES)


def new_epoch_id(rng: Rng = DEFAULT_RNG) -> str:
    """A fresh random epoch id (64 bits: unique among an instance's few epochs)."""
    return random_bytes(rng, 8).hex()


def _check_id(epoch_id: str) -> None:
    if not EPOCH_ID.match(epoch_id):
        raise ValueError("an epoch id is 16 lower-case hex characters")


def _key_and_ad(epoch_key: bytes, epoch_id: str, tip_id: str) -> tuple[bytes, bytes]:
    if len(epoch_key) != KEY_BYTES:
        raise ValueError("an epoch key is 32 bytes")
    _check_id(epoch_id)
    if not tip_id:
        raise ValueError("tip id must not be empty")
    ad = canonical(MAGIC, u8(VERSION), u8(SUITE), epoch_id.encode("ascii"),
                   tip_id.encode("utf-8"))
    return derive_subkey(epoch_key, "tip-key-wrap"), ad


def wrap_tip_key(epoch_key: bytes, tip_key: bytes, *, epoch_id: str, tip_id: str,
                 rng: Rng = DEFAULT_RNG) -> bytes:
    """The tip key sealed under the epoch key, bound to both ids. rng: the nonce."""
    if len(tip_key) != KEY_BYTES:
        raise ValueError("a tip storage key is 32 bytes")
    key, ad = _key_and_ad(epoch_key, epoch_id, tip_id)
    nonce = random_bytes(rng, NONCE_BYTES)
    sealed = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(tip_key, ad, nonce, key)
    return MAGIC + u8(VERSION) + u8(SUITE) + nonce + sealed


def unwrap_tip_key(epoch_key: bytes, wrapped: bytes, *, epoch_id: str, tip_id: str) -> bytes:
    """Inverse of ``wrap_tip_key``: UnsupportedFormat for unknown versions, else DecryptionError."""
    key, ad = _key_and_ad(epoch_key, epoch_id, tip_id)
    check_preamble(wrapped, MAGIC, SUPPORTED)
    if len(wrapped) != WRAPPED_BYTES:
        raise DecryptionError("a wrapped tip key has the wrong length")
    body = wrapped[len(MAGIC) + 2 :]
    try:
        tip_key = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            body[NONCE_BYTES:], ad, body[:NONCE_BYTES], key
        )
    except nacl.exceptions.CryptoError:
        raise DecryptionError("authentication failed") from None
    return bytes(tip_key)


def _check(data: bytes) -> bytes:
    return bytes(blake2b(data, digest_size=CHECK_BYTES, encoder=RawEncoder))


def encode_epoch_file(epoch_id: str, epoch_key: bytes) -> bytes:
    """The bytes of ``secrets/epochs/<id>.key``."""
    _check_id(epoch_id)
    if len(epoch_key) != KEY_BYTES:
        raise ValueError("an epoch key is 32 bytes")
    raw_id = epoch_id.encode("ascii")
    body = FILE_MAGIC + u8(FILE_VERSION) + u8(len(raw_id)) + raw_id + epoch_key
    return body + _check(body)


def decode_epoch_file(data: bytes, epoch_id: str) -> bytes:
    """The epoch key in ``data``, which must be the file of ``epoch_id``; else EpochFileError."""
    _check_id(epoch_id)
    r = Reader(data, EpochFileError)
    if r.take(len(FILE_MAGIC)) != FILE_MAGIC:
        r.fail("not an epoch key file")
    if r.u8() != FILE_VERSION:
        r.fail("unsupported epoch key file version")
    stored_id = r.take(r.u8())
    key = r.take(KEY_BYTES)
    body = r.consumed()
    check = r.take(CHECK_BYTES)
    r.finish()
    if not sodium.sodium_memcmp(check, _check(body)):
        r.fail("damaged (checksum mismatch)")
    if stored_id != epoch_id.encode("ascii"):
        r.fail("holds another epoch's key")
    return key
