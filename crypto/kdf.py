"""Key derivation, keyed hashing and fingerprints, all BLAKE2b (libsodium generichash).

One master key feeds many purposes (text vs. attachments, phone threading vs.
rate limiting); deriving each purpose's key under its own label means a leak
or misuse of one derived key says nothing about the others.
"""

from __future__ import annotations

import base64
import hashlib
import re

from crypto._encoding import lp32

KDF_PERSON = b"hotline-kdf-v1"
"""BLAKE2b personalization for labelled subkeys (zero-padded to 16 bytes by libsodium)."""
FINGERPRINT_PERSON = b"hotline-fpr-v1"
"""BLAKE2b personalization for public-key fingerprints (zero-padded to 16 bytes)."""
FINGERPRINT_BYTES = 20
KEY_MIN = 16
KEY_MAX = 64
MASTER_MIN = 32

_FINGERPRINT_RE = re.compile(r"^[A-Z2-7]{4}(?:-[A-Z2-7]{4}){7}$")


def _check_len(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high} bytes")


def labelled_prf(key: bytes, label: str, length: int = 32) -> bytes:
    """BLAKE2b(key, person=KDF_PERSON, data=lp32(label)); the shared core of every derivation.

    Public for receipt derivation, whose 128-bit entropy is shorter than the
    32-byte minimum ``derive_subkey`` insists on for master secrets.
    """
    _check_len("key", len(key), KEY_MIN, KEY_MAX)
    _check_len("length", length, KEY_MIN, KEY_MAX)
    if not label:
        raise ValueError("label must not be empty")
    data = lp32(label.encode("utf-8"))
    return hashlib.blake2b(data, digest_size=length, key=key, person=KDF_PERSON).digest()


def derive_subkey(master: bytes, label: str, length: int = 32) -> bytes:
    """Derive an independent ``length``-byte key for the purpose named by ``label``.

    Output = BLAKE2b(key=master, digest_size=length, person="hotline-kdf-v1",
    data=u32be(len(label)) || label UTF-8). The digest size is part of BLAKE2b's
    parameter block, so different lengths give unrelated outputs too.
    ``master`` must be 32..64 bytes (ValueError otherwise): shorter masters are
    not secrets we are willing to stretch, longer ones exceed BLAKE2b's key size.
    """
    if len(master) < MASTER_MIN:
        raise ValueError("master key must be at least 32 bytes")
    return labelled_prf(master, label, length)


def keyed_hash(key: bytes, data: bytes, length: int = 32) -> bytes:
    """Plain keyed BLAKE2b (a MAC/PRF): e.g. thread id = keyed_hash(phone subkey, E.164).

    No personalization, so it matches any standard keyed BLAKE2b implementation;
    domain separation comes from the key, which callers derive per purpose.
    Key and output are 16..64 bytes.
    """
    _check_len("key", len(key), KEY_MIN, KEY_MAX)
    _check_len("length", length, KEY_MIN, KEY_MAX)
    return hashlib.blake2b(data, digest_size=length, key=key).digest()


def fingerprint_bytes_of(box_public: bytes, sign_public: bytes) -> bytes:
    """The raw 20-byte fingerprint: BLAKE2b-160(person="hotline-fpr-v1", box_pk || sign_pk)."""
    if len(box_public) != 32 or len(sign_public) != 32:
        raise ValueError("public keys must be 32 bytes each")
    return hashlib.blake2b(
        box_public + sign_public, digest_size=FINGERPRINT_BYTES, person=FINGERPRINT_PERSON
    ).digest()


def render_fingerprint(raw: bytes) -> str:
    """Render 20 raw bytes as 8 groups of 4 base32 characters (RFC 4648, upper case)."""
    if len(raw) != FINGERPRINT_BYTES:
        raise ValueError("a fingerprint is 20 bytes")
    text = base64.b32encode(raw).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def fingerprint_of(box_public: bytes, sign_public: bytes) -> str:
    """Short human-comparable fingerprint binding both public keys of one person.

    160 bits: a second key matching a given fingerprint costs ~2^160 work.
    """
    return render_fingerprint(fingerprint_bytes_of(box_public, sign_public))


def is_fingerprint(text: str) -> bool:
    """True if ``text`` is in the canonical rendered form (what users compare)."""
    return bool(_FINGERPRINT_RE.fullmatch(text))


def parse_fingerprint(text: str) -> bytes:
    """Canonical rendered fingerprint -> its 20 raw bytes (ValueError if not canonical)."""
    if not is_fingerprint(text):
        raise ValueError("not a Hotline fingerprint")
    return base64.b32decode(text.replace("-", ""))
