"""Passphrase-protected key files (CRYPTO.md §10; byte layout in SPEC.md).

Binary on purpose: every byte is either authenticated or checked, which an
ASCII armour (with its optional whitespace and non-canonical base64) would
blur. Salt and Argon2id parameters sit in the header, which is the AEAD's
associated data, so they cannot be weakened without the passphrase.
"""

from __future__ import annotations

import hmac
import unicodedata
from dataclasses import dataclass

import nacl.bindings as sodium
import nacl.encoding
import nacl.exceptions
import nacl.hash

from crypto._encoding import DEFAULT_RNG, Reader, Rng, random_bytes, str16, u8, u32, u64
from crypto.errors import KeyFileError, WrongPassphrase
from crypto.identity import MAX_NAME_BYTES, Identity
from crypto.kdf import derive_subkey

MAGIC = b"HLKF"
VERSION = 1
SUITE = 1
"""Suite 1: Argon2id v1.3 -> BLAKE2b subkeys -> XChaCha20-Poly1305-IETF."""
SALT_BYTES = sodium.crypto_pwhash_SALTBYTES  # 16
NONCE_BYTES = 24
CHECKSUM_BYTES = 16
CHECK_BYTES = 32
HEADER_BYTES = 4 + 1 + 1 + 4 + 8 + SALT_BYTES + NONCE_BYTES  # 58
CHECKSUM_PERSON = b"hotline-kf-sum"
MIB = 1024 * 1024
OPSLIMIT_MIN = sodium.crypto_pwhash_argon2id_OPSLIMIT_MIN
MEMLIMIT_MIN = sodium.crypto_pwhash_argon2id_MEMLIMIT_MIN
OPSLIMIT_MAX_ACCEPTED = 16
MEMLIMIT_MAX_ACCEPTED = 1024 * MIB
MAX_PLAINTEXT = 32 + 32 + 2 + MAX_NAME_BYTES


def _bounds_problem(opslimit: int, memlimit: int) -> str | None:
    """Why these Argon2id parameters are refused, or None. Shared by writer and reader."""
    if memlimit > MEMLIMIT_MAX_ACCEPTED:
        return "Argon2id memory limit too large"
    if opslimit > OPSLIMIT_MAX_ACCEPTED:
        return "Argon2id operations limit too large"
    if opslimit < OPSLIMIT_MIN or memlimit < MEMLIMIT_MIN:
        return "Argon2id parameters below the libsodium minimum"
    return None


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost. Readers refuse memlimit > 1 GiB (and opslimit > 16) so a planted
    key file cannot make a device hang or exhaust memory."""

    opslimit: int
    memlimit: int

    def __post_init__(self) -> None:
        problem = _bounds_problem(self.opslimit, self.memlimit)
        if problem:
            raise ValueError(problem)


LAPTOP = KdfParams(3, 256 * MIB)
PHONE = KdfParams(3, 64 * MIB)
TESTING = KdfParams(1, 8 * MIB)
"""For automated tests only: far too cheap to protect a real key."""


@dataclass(frozen=True)
class _Header:
    params: KdfParams
    salt: bytes
    nonce: bytes
    check: bytes
    ciphertext: bytes
    associated_data: bytes


def _normalise(passphrase: str) -> bytes:
    """NFC so the same passphrase typed on different keyboards/OSes gives the same bytes."""
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _checksum(header: bytes) -> bytes:
    """Catches corruption before Argon2id runs; NOT security (the AEAD's AD is)."""
    return nacl.hash.blake2b(
        header,
        digest_size=CHECKSUM_BYTES,
        person=CHECKSUM_PERSON,
        encoder=nacl.encoding.RawEncoder,
    )


def _stretch(passphrase: str, salt: bytes, params: KdfParams) -> tuple[bytes, bytes]:
    """Argon2id -> (passphrase check value, encryption key), via labelled subkeys."""
    master = sodium.crypto_pwhash_alg(
        32,
        _normalise(passphrase),
        salt,
        params.opslimit,
        params.memlimit,
        sodium.crypto_pwhash_ALG_ARGON2ID13,
    )
    return derive_subkey(master, "keyfile-passphrase-check"), derive_subkey(master, "keyfile-key")


def encrypt_identity(
    identity: Identity,
    passphrase: str,
    params: KdfParams = LAPTOP,
    *,
    rng: Rng = DEFAULT_RNG,
) -> bytes:
    """Wrap ``identity`` under ``passphrase``. rng order: salt (16), then nonce (24)."""
    if not passphrase:
        raise ValueError("passphrase must not be empty")
    salt, nonce = random_bytes(rng, SALT_BYTES), random_bytes(rng, NONCE_BYTES)
    header = (
        MAGIC + u8(VERSION) + u8(SUITE) + u32(params.opslimit) + u64(params.memlimit) + salt + nonce
    )
    check, key = _stretch(passphrase, salt, params)
    plaintext = identity.box_secret + identity.sign_seed + str16(identity.name)
    prefix = header + _checksum(header) + check
    ad = prefix + u32(len(plaintext) + 16)
    ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, nonce, key)
    return ad + ciphertext


def _preamble(r: Reader) -> None:
    if r.remaining < 4 or r.take(4) != MAGIC:
        r.fail("not a Hotline key file")
    version = r.u8()
    if version != VERSION:
        r.fail(f"unsupported key file version {version}")
    suite = r.u8()
    if suite != SUITE:
        r.fail(f"unsupported key file suite {suite}")


def _parse(data: bytes) -> _Header:
    """Strict parse: bounds, then checksum, then lengths. Argon2id never runs on bad input."""
    r = Reader(data, KeyFileError)
    _preamble(r)
    opslimit, memlimit = r.u32(), r.u64()
    problem = _bounds_problem(opslimit, memlimit)
    if problem:
        r.fail(problem)
    salt, nonce = r.take(SALT_BYTES), r.take(NONCE_BYTES)
    header = r.consumed()
    if not hmac.compare_digest(r.take(CHECKSUM_BYTES), _checksum(header)):
        r.fail("key file header is corrupted")
    check = r.take(CHECK_BYTES)
    length = r.u32()
    if not 16 < length <= MAX_PLAINTEXT + 16:
        r.fail("key file is corrupted")
    associated_data = r.consumed()
    ciphertext = r.take(length)
    r.finish()
    return _Header(KdfParams(opslimit, memlimit), salt, nonce, check, ciphertext, associated_data)


def read_kdf_params(data: bytes) -> KdfParams:
    """The Argon2id cost of a key file, so a UI can warn before a slow unlock."""
    return _parse(data).params


def _identity_from(plaintext: bytes) -> Identity:
    r = Reader(plaintext, KeyFileError)
    box_secret, sign_seed = r.take(32), r.take(32)
    name = r.str16(MAX_NAME_BYTES)
    r.finish()
    try:
        return Identity(name, box_secret, sign_seed)
    except ValueError:
        raise KeyFileError("key file contents are malformed") from None


def decrypt_identity(data: bytes, passphrase: str) -> Identity:
    """Unwrap a key file: KeyFileError if damaged, WrongPassphrase if the passphrase is wrong."""
    header = _parse(data)
    check, key = _stretch(passphrase, header.salt, header.params)
    if not hmac.compare_digest(check, header.check):
        raise WrongPassphrase("wrong passphrase")
    try:
        plaintext = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            header.ciphertext, header.associated_data, header.nonce, key
        )
    except nacl.exceptions.CryptoError:
        raise KeyFileError("key file is corrupted") from None
    return _identity_from(plaintext)
