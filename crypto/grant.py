"""Key grants: sharing a sealed message with one more reader without touching it (SPEC.md §10).

A stored envelope is never replaced. To hand a message to a colleague, an
advocate who can open it seals the message key to the colleague and signs
that, under its own purpose label, together with the envelope's context and
key commitment. Whoever reads through a grant checks three things: the
signature, that the signer was entitled to the key (a recipient in the
envelope's header, or the grantee of another accepted grant for it), and
that the key opened matches the envelope's commitment, so a grant can add a
reader but can never change what any reader sees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crypto._encoding import DEFAULT_RNG, Reader, Rng, canonical, str16, u8
from crypto._sealedbox import open_box, seal_box
from crypto.envelope import (
    COMMITMENT_BYTES,
    MAX_ID_BYTES,
    SEALED_KEY_BYTES,
    BoxKeyHolder,
    EnvelopeContext,
    EnvelopeHeader,
    OpenedMessage,
    Recipient,
    check_preamble,
    key_commitment,
    open_with_key,
    read_header,
)
from crypto.errors import BadSignature, CryptoError, DecryptionError, InvalidGrant
from crypto.identity import SIGNATURE_BYTES, Identity, PublicIdentity
from crypto.kdf import FINGERPRINT_BYTES, parse_fingerprint, render_fingerprint
from crypto.signing import context_fields

MAGIC = b"HLGR"
VERSION = 1
SUITE = 1
"""Suite 1: crypto_box_seal of the 32-byte message key, Ed25519 signature."""
SUPPORTED = frozenset({(VERSION, SUITE)})
GRANT_PURPOSE = "key-grant"
"""Purpose label of a grant signature (distinct from login, messages and key binding)."""


@dataclass(frozen=True)
class Grant:
    """A parsed grant. Parsing checks the layout only; ``verify`` checks the signature."""

    context: EnvelopeContext
    commitment: bytes = field(repr=False)
    grantor: str
    grantee: str
    sealed_key: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    def signed_part(self) -> bytes:
        """canonical("HLGR", version, suite, 5 context strings, C, grantor, grantee, sealed key)."""
        return canonical(
            MAGIC,
            u8(VERSION),
            u8(SUITE),
            *context_fields(self.context),
            self.commitment,
            parse_fingerprint(self.grantor),
            parse_fingerprint(self.grantee),
            self.sealed_key,
        )

    def verify(self, grantor: PublicIdentity) -> None:
        """InvalidGrant unless ``grantor`` is the named grantor and signed this grant."""
        if grantor.fingerprint != self.grantor:
            raise InvalidGrant("the grant names another grantor")
        try:
            grantor.verify(GRANT_PURPOSE, self.signed_part(), self.signature)
        except BadSignature:
            raise InvalidGrant("the grant's signature does not verify") from None

    def to_bytes(self) -> bytes:
        """The wire form (SPEC.md §10): magic, version, suite, context, C, fingerprints,
        sealed key, signature."""
        c = self.context
        return b"".join([
            MAGIC, u8(VERSION), u8(SUITE),
            *(str16(s) for s in (c.instance_id, c.tip_id, c.message_id, c.direction, c.channel)),
            self.commitment, parse_fingerprint(self.grantor), parse_fingerprint(self.grantee),
            self.sealed_key, self.signature,
        ])

    def matches(self, header: EnvelopeHeader) -> None:
        """InvalidGrant unless this grant is for exactly this envelope (context and key)."""
        if self.context != header.context:
            raise InvalidGrant("the grant is for another message or tip")
        if self.commitment != header.commitment:
            raise InvalidGrant("the grant is for another key than the message's")


def make_grant(
    opened: OpenedMessage, grantor: Identity, grantee: Recipient, *, rng: Rng = DEFAULT_RNG
) -> bytes:
    """Seal ``opened``'s message key to ``grantee`` and sign it as ``grantor``.

    ``opened`` comes from ``open_envelope`` or ``open_granted``, so its key
    already matched the envelope's commitment. rng: one ephemeral secret (32).
    """
    if grantee.fingerprint == grantor.fingerprint:
        raise ValueError("a grant to oneself is pointless")
    sealed = seal_box(opened.message_key, grantee.box_public, rng)
    draft = Grant(opened.context, key_commitment(opened.message_key), grantor.fingerprint,
                  grantee.fingerprint, sealed, b"")
    signature = grantor.sign(GRANT_PURPOSE, draft.signed_part())
    return Grant(draft.context, draft.commitment, draft.grantor, draft.grantee,
                 sealed, signature).to_bytes()


def parse_grant(data: bytes) -> Grant:
    """Strictly parse a grant; every malformation is InvalidGrant (or UnsupportedFormat)."""
    check_preamble(data, MAGIC, SUPPORTED)
    r = Reader(data, InvalidGrant)
    r.take(len(MAGIC) + 2)
    fields = [r.str16(MAX_ID_BYTES) for _ in range(5)]
    try:
        context = EnvelopeContext(*fields)
    except ValueError:
        r.fail("invalid grant context")
    commitment = r.take(COMMITMENT_BYTES)
    grantor = render_fingerprint(r.take(FINGERPRINT_BYTES))
    grantee = render_fingerprint(r.take(FINGERPRINT_BYTES))
    sealed, signature = r.take(SEALED_KEY_BYTES), r.take(SIGNATURE_BYTES)
    r.finish()
    if grantor == grantee:
        r.fail("a grant from a key to itself")
    return Grant(context, commitment, grantor, grantee, sealed, signature)


@dataclass(frozen=True)
class GrantCheck:
    """Which grants of one envelope a reader may use, and why the others are refused."""

    accepted: tuple[Grant, ...]
    rejected: tuple[tuple[int, str], ...]  # (index in the input, reason)


def check_grants(
    header: EnvelopeHeader, grants: Sequence[bytes], keys: Mapping[str, PublicIdentity]
) -> GrantCheck:
    """Accept a grant only if it parses, is for this envelope, is signed by its grantor
    (whose verified public key is in ``keys``), and the grantor was entitled: a recipient
    in the header, or the grantee of a grant accepted before it (chains, no cycles)."""
    rejected: dict[int, str] = {}
    valid: dict[int, Grant] = {}
    for i, raw in enumerate(grants):
        try:
            g = parse_grant(raw)
            g.matches(header)
            key = keys.get(g.grantor)
            if key is None:
                raise InvalidGrant("the grantor's public key is unknown")
            g.verify(key)
        except CryptoError as e:
            rejected[i] = e.reason
            continue
        valid[i] = g
    entitled = set(header.recipients)
    accepted: list[Grant] = []
    progress = True
    while progress:
        progress = False
        for i, g in list(valid.items()):
            if g.grantor in entitled:
                accepted.append(g)
                entitled.add(g.grantee)
                del valid[i]
                progress = True
    for i in valid:
        rejected[i] = "the grant is signed by someone who was never given this message"
    return GrantCheck(tuple(accepted), tuple(sorted(rejected.items())))


@dataclass(frozen=True)
class GrantedMessage:
    """An envelope opened through a grant: the message, and who granted it."""

    opened: OpenedMessage
    grant: Grant


def open_granted(
    envelope: bytes,
    holder: BoxKeyHolder,
    grants: Sequence[bytes],
    keys: Mapping[str, PublicIdentity],
    *,
    expected: EnvelopeContext | None = None,
) -> GrantedMessage:
    """Open an envelope the holder is not a recipient of, through an accepted grant.

    DecryptionError says why none works (no grant for this key, every one
    refused, or a key that does not match the envelope's commitment).
    """
    header = read_header(envelope)
    if expected is not None and header.context != expected:
        raise DecryptionError("envelope belongs to a different tip/message")
    check = check_grants(header, grants, keys)
    mine = [g for g in check.accepted if g.grantee == holder.fingerprint]
    reasons = [reason for _, reason in check.rejected]
    for g in mine:
        message_key = open_box(g.sealed_key, holder.box_public, holder.box_secret)
        if message_key is None:
            reasons.append("the granted key does not open with this key")
            continue
        try:
            return GrantedMessage(open_with_key(envelope, message_key, expected=expected), g)
        except DecryptionError as e:
            reasons.append(f"a grant from {g.grantor}: {e.reason}")
    if not mine and not reasons:
        raise DecryptionError("not sealed to this key, and no grant for it")
    raise DecryptionError("no valid key grant for this key: " + "; ".join(reasons))
