"""The versioned message envelope (CRYPTO.md §5, 6, 7, 11, 12; layout in SPEC.md).

A fresh random message key encrypts the padded text with XChaCha20-Poly1305
under a canonical header as associated data, and is sealed with
crypto_box_seal to every recipient. Every byte of the envelope is
authenticated, so no recipient can be handed a copy that differs from what
the others (including the offline recovery key) received.
"""

from __future__ import annotations

import hmac
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import nacl.bindings
import nacl.exceptions

from crypto._encoding import DEFAULT_RNG, Reader, Rng, canonical, random_bytes, str16, u8, u16, u32
from crypto._sealedbox import SEAL_OVERHEAD, open_box, seal_box
from crypto.errors import DecryptionError, NotARecipient, UnsupportedFormat
from crypto.kdf import FINGERPRINT_BYTES, derive_subkey, is_fingerprint, parse_fingerprint
from crypto.kdf import render_fingerprint as _render
from crypto.padding import MIN_BUCKET, pad, padded_length, unpad

MAGIC = b"HLEN"
VERSION = 1
SUITE = 1
"""Suite 1: crypto_box_seal per recipient, XChaCha20-Poly1305-IETF, BLAKE2b, sodium_pad buckets."""
SUPPORTED = frozenset({(VERSION, SUITE)})
"""Allow-list of (version, suite); anything else is UnsupportedFormat, never a fallback."""

DIRECTIONS = frozenset({"in", "out", "note"})
CHANNELS = frozenset({"web", "sms", "voice", "whatsapp"})
MAX_ID_BYTES = 255
MESSAGE_KEY_BYTES = 32
COMMITMENT_BYTES = 32
NONCE_BYTES = 24
TAG_BYTES = 16
SEALED_KEY_BYTES = MESSAGE_KEY_BYTES + SEAL_OVERHEAD
MAX_RECIPIENTS = 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
TEXT_PART = 0


@dataclass(frozen=True)
class Recipient:
    """Who a message key is sealed to: a canonical fingerprint and an X25519 public key."""

    fingerprint: str
    box_public: bytes

    def __post_init__(self) -> None:
        if not is_fingerprint(self.fingerprint):
            raise ValueError("recipient fingerprint is not in canonical form")
        if len(self.box_public) != 32:
            raise ValueError("recipient box_public must be 32 bytes")


class BoxKeyHolder(Protocol):
    """Anything that can open envelopes: an advocate Identity or a receipt ReplyKeyPair."""

    @property
    def fingerprint(self) -> str: ...

    @property
    def box_public(self) -> bytes: ...

    @property
    def box_secret(self) -> bytes: ...


@dataclass(frozen=True)
class EnvelopeContext:
    """Where a message belongs; bound into every ciphertext so it cannot be moved."""

    instance_id: str
    tip_id: str
    message_id: str
    direction: str
    channel: str

    def __post_init__(self) -> None:
        for name in ("instance_id", "tip_id", "message_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string")
            if len(value.encode("utf-8")) > MAX_ID_BYTES:
                raise ValueError(f"{name} must be at most {MAX_ID_BYTES} UTF-8 bytes")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {sorted(DIRECTIONS)}")
        if self.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {sorted(CHANNELS)}")

    def ad_fields(self, part: int) -> tuple[bytes, ...]:
        """The context's fields in canonical-header order (shared with part streams)."""
        return (
            self.instance_id.encode("utf-8"),
            self.tip_id.encode("utf-8"),
            self.message_id.encode("utf-8"),
            u32(part),
            self.direction.encode("utf-8"),
            self.channel.encode("utf-8"),
        )


@dataclass(frozen=True)
class SealedMessage:
    """A new envelope plus its message key, kept only long enough to encrypt attachments."""

    envelope: bytes
    message_key: bytes = field(repr=False)


@dataclass(frozen=True)
class OpenedMessage:
    """A verified, decrypted envelope. Its repr never shows the body or key."""

    context: EnvelopeContext
    body: bytes = field(repr=False)
    message_key: bytes = field(repr=False)
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class EnvelopeHeader:
    """Unauthenticated view of an envelope, for servers checking what a client posted."""

    context: EnvelopeContext
    recipients: tuple[str, ...]
    version: int
    suite: int
    commitment: bytes = field(default=b"", repr=False)
    """The key commitment C: a key grant for this envelope must name the same C."""


@dataclass(frozen=True)
class _Parsed:
    version: int
    suite: int
    context: EnvelopeContext
    commitment: bytes
    stanzas: tuple[tuple[bytes, bytes], ...]
    nonce: bytes
    ciphertext: bytes


def key_commitment(message_key: bytes) -> bytes:
    """BLAKE2b commitment to the message key; checked by readers so the AEAD is key-committing."""
    return derive_subkey(message_key, "key-commitment")


def part_subkey(message_key: bytes, part: int) -> bytes:
    """One key per use: label "text" for part 0, "attachment-N" for part N >= 1."""
    if part < 0:
        raise ValueError("part must be non-negative")
    return derive_subkey(message_key, "text" if part == TEXT_PART else f"attachment-{part}")


def check_preamble(data: bytes, magic: bytes, supported: frozenset[tuple[int, int]]) -> None:
    """Magic, version and suite against an allow-list; raises UnsupportedFormat.

    A non-empty proper prefix of the magic is reported as truncation instead.
    """
    if 0 < len(data) < len(magic) + 2 and data[: len(magic)] == magic[: len(data)]:
        raise DecryptionError("truncated")
    if len(data) < len(magic) + 2 or data[: len(magic)] != magic:
        raise UnsupportedFormat("not a Hotline object of the expected kind")
    version, suite = data[len(magic)], data[len(magic) + 1]
    if not any(v == version for v, _ in supported):
        raise UnsupportedFormat(f"unsupported format version {version}")
    if (version, suite) not in supported:
        raise UnsupportedFormat(f"unsupported cipher suite {suite}")


def _canonical_recipients(recipients: Sequence[Recipient]) -> tuple[tuple[bytes, Recipient], ...]:
    """Deduplicate by fingerprint and sort by raw fingerprint bytes (the wire order)."""
    by_fp: dict[bytes, Recipient] = {}
    for recipient in recipients:
        kept = by_fp.setdefault(parse_fingerprint(recipient.fingerprint), recipient)
        if kept.box_public != recipient.box_public:
            raise ValueError("two different keys were given under one fingerprint")
    if not by_fp:
        raise ValueError("at least one recipient is required")
    if len(by_fp) > MAX_RECIPIENTS:
        raise ValueError(f"at most {MAX_RECIPIENTS} recipients")
    return tuple(sorted(by_fp.items()))


def _associated_data(p: _Parsed) -> bytes:
    """The canonical header (CRYPTO.md §5), plus the sealed keys so every byte is bound."""
    return canonical(
        MAGIC,
        u8(p.version),
        u8(p.suite),
        *p.context.ad_fields(TEXT_PART),
        b"".join(fp for fp, _ in p.stanzas),
        p.commitment,
        b"".join(sealed for _, sealed in p.stanzas),
    )


def _serialize(p: _Parsed) -> bytes:
    ctx = p.context
    return b"".join(
        [
            MAGIC,
            u8(p.version),
            u8(p.suite),
            *(str16(s) for s in (ctx.instance_id, ctx.tip_id, ctx.message_id)),
            str16(ctx.direction),
            str16(ctx.channel),
            p.commitment,
            u16(len(p.stanzas)),
            *(fp + sealed for fp, sealed in p.stanzas),
            p.nonce,
            u32(len(p.ciphertext)),
            p.ciphertext,
        ]
    )


def _read_context(r: Reader) -> EnvelopeContext:
    fields = [r.str16(MAX_ID_BYTES) for _ in range(5)]
    try:
        return EnvelopeContext(*fields)
    except ValueError:
        r.fail("invalid envelope context")


def _read_stanzas(r: Reader) -> tuple[tuple[bytes, bytes], ...]:
    count = r.u16()
    if not 1 <= count <= MAX_RECIPIENTS:
        r.fail("invalid recipient count")
    stanzas = tuple((r.take(FINGERPRINT_BYTES), r.take(SEALED_KEY_BYTES)) for _ in range(count))
    fps = [fp for fp, _ in stanzas]
    if any(a >= b for a, b in itertools.pairwise(fps)):
        r.fail("recipients are not in canonical order")
    return stanzas


def _parse(envelope: bytes) -> _Parsed:
    """Strictly parse the wire format; every malformation is a CryptoError."""
    check_preamble(envelope, MAGIC, SUPPORTED)
    r = Reader(envelope, DecryptionError)
    r.take(len(MAGIC))
    version, suite = r.u8(), r.u8()
    context = _read_context(r)
    commitment = r.take(COMMITMENT_BYTES)
    stanzas = _read_stanzas(r)
    nonce = r.take(NONCE_BYTES)
    length = r.u32()
    if not MIN_BUCKET + TAG_BYTES <= length <= padded_length(MAX_BODY_BYTES) + TAG_BYTES:
        r.fail("invalid ciphertext length")
    ciphertext = r.take(length)
    r.finish()
    return _Parsed(version, suite, context, commitment, stanzas, nonce, ciphertext)


def _seal_with_key(
    ctx: EnvelopeContext,
    body: bytes,
    recipients: tuple[tuple[bytes, Recipient], ...],
    message_key: bytes,
    rng: Rng,
) -> bytes:
    """Seal ``message_key`` to each recipient, then encrypt the padded body under a fresh nonce."""
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"body must be at most {MAX_BODY_BYTES} bytes")
    stanzas = tuple((fp, seal_box(message_key, r.box_public, rng)) for fp, r in recipients)
    nonce = random_bytes(rng, NONCE_BYTES)
    draft = _Parsed(VERSION, SUITE, ctx, key_commitment(message_key), stanzas, nonce, b"")
    ciphertext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        pad(body), _associated_data(draft), nonce, part_subkey(message_key, TEXT_PART)
    )
    return _serialize(_Parsed(VERSION, SUITE, ctx, draft.commitment, stanzas, nonce, ciphertext))


def seal(
    ctx: EnvelopeContext,
    body: bytes,
    recipients: Sequence[Recipient],
    *,
    rng: Rng = DEFAULT_RNG,
) -> SealedMessage:
    """Encrypt ``body`` under a fresh message key sealed to every recipient.

    rng call order (for vectors): message key (32), then one ephemeral secret
    (32) per recipient in canonical order, then the nonce (24).
    """
    canonical_recipients = _canonical_recipients(recipients)
    message_key = random_bytes(rng, MESSAGE_KEY_BYTES)
    envelope = _seal_with_key(ctx, body, canonical_recipients, message_key, rng)
    return SealedMessage(envelope, message_key)


def _unseal_key(p: _Parsed, holder: BoxKeyHolder) -> bytes:
    """Find the holder's stanza, open it, and check the key against the commitment."""
    try:
        wanted = parse_fingerprint(holder.fingerprint)
    except ValueError:
        raise NotARecipient("holder has no valid fingerprint") from None
    sealed = dict(p.stanzas).get(wanted)
    if sealed is None:
        raise NotARecipient("the key is not among the envelope's recipients")
    message_key = open_box(sealed, holder.box_public, holder.box_secret)
    if message_key is None:
        raise DecryptionError("the sealed message key does not open with this key")
    if not hmac.compare_digest(key_commitment(message_key), p.commitment):
        raise DecryptionError("key commitment mismatch")
    return message_key


def _decrypt_body(p: _Parsed, message_key: bytes) -> bytes:
    try:
        padded = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            p.ciphertext, _associated_data(p), p.nonce, part_subkey(message_key, TEXT_PART)
        )
    except nacl.exceptions.CryptoError:
        raise DecryptionError("authentication failed") from None
    body = unpad(padded)
    if body is None:
        raise DecryptionError("invalid padding")
    return body


def open_envelope(
    envelope: bytes,
    holder: BoxKeyHolder,
    *,
    expected: EnvelopeContext | None = None,
) -> OpenedMessage:
    """Verify and decrypt an envelope; refuses anything not bound to ``expected`` if given."""
    p = _parse(envelope)
    if expected is not None and p.context != expected:
        raise DecryptionError("envelope belongs to a different tip/message")
    message_key = _unseal_key(p, holder)
    body = _decrypt_body(p, message_key)
    recipients = tuple(_render(fp) for fp, _ in p.stanzas)
    return OpenedMessage(p.context, body, message_key, recipients)


def read_header(envelope: bytes) -> EnvelopeHeader:
    """Parse without decrypting. NOT authenticated: use it to reject, never to trust."""
    p = _parse(envelope)
    recipients = tuple(_render(fp) for fp, _ in p.stanzas)
    return EnvelopeHeader(p.context, recipients, p.version, p.suite, p.commitment)


def open_with_key(
    envelope: bytes,
    message_key: bytes,
    *,
    expected: EnvelopeContext | None = None,
) -> OpenedMessage:
    """Decrypt with a message key obtained otherwise (a key grant, SPEC.md §10).

    The key must match the envelope's commitment (constant-time), so a grant
    can never make an envelope open to anything but what its author sealed.
    """
    p = _parse(envelope)
    if expected is not None and p.context != expected:
        raise DecryptionError("envelope belongs to a different tip/message")
    if len(message_key) != MESSAGE_KEY_BYTES or not hmac.compare_digest(
        key_commitment(message_key), p.commitment
    ):
        raise DecryptionError("key commitment mismatch")
    body = _decrypt_body(p, message_key)
    recipients = tuple(_render(fp) for fp, _ in p.stanzas)
    return OpenedMessage(p.context, body, message_key, recipients)


def reseal(
    envelope: bytes,
    holder: BoxKeyHolder,
    recipients: Sequence[Recipient],
    *,
    rng: Rng = DEFAULT_RNG,
) -> bytes:
    """The same context and message key, sealed to a new recipient set.

    NOT used by the service: a stored envelope is never replaced, and sharing a
    message later is a key grant (``crypto.grant``). Kept, with its frozen
    vector, for tools that make a fresh copy of a message outside the store.

    Keeping the key keeps attachment parts readable. It is safe: the text is
    the same plaintext re-encrypted under a fresh random 24-byte nonce (XChaCha
    nonces are large enough to draw at random), with new associated data, and
    every new recipient could have been given the key anyway.
    rng call order: one ephemeral secret per recipient, then the nonce.
    """
    canonical_recipients = _canonical_recipients(recipients)
    opened = open_envelope(envelope, holder)
    return _seal_with_key(
        opened.context, opened.body, canonical_recipients, opened.message_key, rng
    )
