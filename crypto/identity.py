"""Advocate identities: an X25519 box key and an Ed25519 signing key bound together.

The .pub file carries both keys signed by the Ed25519 key (CRYPTO.md §3), so a
server cannot pair someone's signing key with a box key it controls, and the
short fingerprint over both is what people confirm out of band.
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

import nacl.bindings
import nacl.exceptions
import nacl.signing

from crypto._encoding import DEFAULT_RNG, Reader, Rng, lp32, random_bytes, str16, u8
from crypto.envelope import Recipient
from crypto.errors import BadSignature, InvalidPublicKey
from crypto.kdf import fingerprint_of

SIG_PREFIX = b"hotline-sig-v1\x00"
"""Signed bytes = SIG_PREFIX || u32be(len(purpose)) || purpose UTF-8 || message."""
PUB_FILE_FIRST_LINE = "hotline-public-key-v1"
PUB_LINE_TRIM = " \t\r"
"""The only characters trimmed from either end of a .pub line; every other one counts."""
PUB_MAGIC = b"HLPK"
PUB_VERSION = 1
PUB_SUITE = 1
"""Suite 1: X25519 box key + Ed25519 signing key, BLAKE2b-160 fingerprint."""
BINDING_PURPOSE = "public-key-binding"
MAX_NAME_BYTES = 128
SIGNATURE_BYTES = 64
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_name(name: str) -> None:
    """Names are shown to people and written as a text line, so no controls or bidi tricks."""
    # U+FEFF counts as surrounding whitespace too, as JavaScript's trim() says (SPEC §5).
    if not isinstance(name, str) or not name or name != name.strip() or "\ufeff" in (name[0], name[-1]):
        raise ValueError("name must be non-empty without surrounding whitespace")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise ValueError(f"name must be at most {MAX_NAME_BYTES} UTF-8 bytes")
    if any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES or c in _BIDI_CONTROLS for c in name):
        raise ValueError("name must not contain control characters")


def signed_bytes(purpose: str, message: bytes) -> bytes:
    """What an Ed25519 signature actually covers: the purpose label makes signatures
    for one use useless for any other (CRYPTO.md §9, last sentence)."""
    if not purpose:
        raise ValueError("a signature needs a purpose label")
    return SIG_PREFIX + lp32(purpose.encode("utf-8")) + message


def verify_raw(sign_public: bytes, data: bytes, signature: bytes) -> None:
    """Ed25519-verify exact bytes (libsodium rejects non-canonical and small-order keys)."""
    if len(signature) != SIGNATURE_BYTES:
        raise BadSignature("signature has the wrong length")
    try:
        nacl.signing.VerifyKey(sign_public).verify(data, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError):
        raise BadSignature("signature does not verify") from None


def _binding_blob(name: str, box_public: bytes, sign_public: bytes) -> bytes:
    """The authoritative, signed part of a .pub file."""
    return PUB_MAGIC + u8(PUB_VERSION) + u8(PUB_SUITE) + box_public + sign_public + str16(name)


def _is_low_order(box_public: bytes) -> bool:
    """X25519 keys of small order give an all-zero shared secret; libsodium refuses them."""
    try:
        nacl.bindings.crypto_scalarmult(b"\x01" * 32, box_public)
    except nacl.exceptions.CryptoError:
        return True
    return False


@dataclass(frozen=True)
class PublicIdentity:
    """Someone's public keys. ``binding_signature`` (if set) is their self-signature."""

    name: str
    box_public: bytes
    sign_public: bytes
    binding_signature: bytes | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_name(self.name)
        if len(self.box_public) != 32 or len(self.sign_public) != 32:
            raise ValueError("public keys must be 32 bytes each")
        if self.binding_signature is not None:
            try:
                self.verify(BINDING_PURPOSE, self._blob(), self.binding_signature)
            except BadSignature:
                raise InvalidPublicKey("bad self-signature") from None

    def _blob(self) -> bytes:
        return _binding_blob(self.name, self.box_public, self.sign_public)

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.box_public, self.sign_public)

    def recipient(self) -> Recipient:
        return Recipient(self.fingerprint, self.box_public)

    def verify(self, purpose: str, message: bytes, signature: bytes) -> None:
        """Raise BadSignature unless ``signature`` is ours over (purpose, message)."""
        verify_raw(self.sign_public, signed_bytes(purpose, message), signature)

    def to_pub_file(self) -> bytes:
        """The .pub text; needs the self-signature (from Identity.public or from_pub_file)."""
        if self.binding_signature is None:
            raise ValueError("no self-signature: export the .pub file from the Identity")
        blob = base64.b64encode(self._blob() + self.binding_signature).decode("ascii")
        lines = [PUB_FILE_FIRST_LINE, f"name: {self.name}", f"fingerprint: {self.fingerprint}"]
        return ("\n".join([*lines, blob]) + "\n").encode("utf-8")

    @classmethod
    def from_pub_file(cls, data: bytes) -> PublicIdentity:
        """Parse and verify a .pub file; InvalidPublicKey says precisely what is wrong."""
        info, raw = _split_pub_file(data)
        public = _parse_pub_blob(raw)
        if "fingerprint" in info and info["fingerprint"] != public.fingerprint:
            raise InvalidPublicKey("fingerprint line does not match the key")
        if "name" in info and info["name"] != public.name:
            raise InvalidPublicKey("name line does not match the signed name")
        return public


def _split_pub_file(data: bytes) -> tuple[dict[str, str], bytes]:
    """Text layer: first line, informational 'key: value' lines, one base64 line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPublicKey("not a Hotline public key file") from None
    # Lines end in "\n"; only ASCII space, tab and CR are trimmed (so CRLF works). Not
    # str.splitlines()/strip(): their Unicode sets differ from JavaScript's (SPEC.md §5).
    stripped = (line.strip(PUB_LINE_TRIM) for line in text.split("\n"))
    lines = [line for line in stripped if line]
    if not lines or not lines[0].startswith("hotline-public-key-"):
        raise InvalidPublicKey("not a Hotline public key file")
    if lines[0] != PUB_FILE_FIRST_LINE:
        raise InvalidPublicKey("unsupported public key file version")
    if len(lines) < 2:
        raise InvalidPublicKey("public key file is truncated")
    info: dict[str, str] = {}
    for line in lines[1:-1]:
        key, sep, value = line.partition(": ")
        if not sep or key not in ("name", "fingerprint") or key in info:
            raise InvalidPublicKey(f"unexpected line in public key file: {line[:40]!r}")
        info[key] = value
    return info, _strict_b64(lines[-1])


def _strict_b64(line: str) -> bytes:
    try:
        raw = base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidPublicKey("key data is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != line:
        raise InvalidPublicKey("key data is not canonical base64")
    return raw


def _parse_pub_blob(raw: bytes) -> PublicIdentity:
    r = Reader(raw, InvalidPublicKey)
    if r.take(len(PUB_MAGIC)) != PUB_MAGIC:
        r.fail("key data is not a Hotline public key")
    version, suite = r.u8(), r.u8()
    if (version, suite) != (PUB_VERSION, PUB_SUITE):
        r.fail(f"unsupported public key version {version} suite {suite}")
    box_public, sign_public = r.take(32), r.take(32)
    name = r.str16(MAX_NAME_BYTES)
    signature = r.take(SIGNATURE_BYTES)
    r.finish()
    if _is_low_order(box_public):
        r.fail("box key is a low-order point")
    try:
        return PublicIdentity(name, box_public, sign_public, signature)
    except ValueError as exc:
        raise InvalidPublicKey(f"invalid key data: {exc}") from None


@dataclass(frozen=True, repr=False)
class Identity:
    """An advocate's secret keys. Lives only in memory or Argon2id-wrapped in a key file."""

    name: str
    box_secret: bytes
    sign_seed: bytes

    def __post_init__(self) -> None:
        check_name(self.name)
        if len(self.box_secret) != 32 or len(self.sign_seed) != 32:
            raise ValueError("box_secret and sign_seed must be 32 bytes each")

    @classmethod
    def generate(cls, name: str, *, rng: Rng = DEFAULT_RNG) -> Identity:
        """New keys: rng(32) is the X25519 secret, then rng(32) the Ed25519 seed."""
        check_name(name)
        return cls(name, random_bytes(rng, 32), random_bytes(rng, 32))

    def __repr__(self) -> str:
        return f"Identity(name={self.name!r}, fingerprint={self.fingerprint!r})"

    @cached_property
    def box_public(self) -> bytes:
        return nacl.bindings.crypto_scalarmult_base(self.box_secret)

    @cached_property
    def _signing_key(self) -> nacl.signing.SigningKey:
        return nacl.signing.SigningKey(self.sign_seed)

    @property
    def sign_public(self) -> bytes:
        return bytes(self._signing_key.verify_key)

    @cached_property
    def public(self) -> PublicIdentity:
        blob = _binding_blob(self.name, self.box_public, self.sign_public)
        signature = self.sign(BINDING_PURPOSE, blob)
        return PublicIdentity(self.name, self.box_public, self.sign_public, signature)

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.box_public, self.sign_public)

    def recipient(self) -> Recipient:
        return Recipient(self.fingerprint, self.box_public)

    def sign(self, purpose: str, message: bytes) -> bytes:
        """Ed25519 over the purpose-labelled message (see ``signed_bytes``)."""
        return self._sign_exact(signed_bytes(purpose, message))

    def _sign_exact(self, data: bytes) -> bytes:
        """Sign exact bytes. Only for formats that carry their own purpose prefix (login)."""
        return self._signing_key.sign(data).signature

    def to_pub_file(self) -> bytes:
        return self.public.to_pub_file()
