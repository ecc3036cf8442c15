"""Receipt-derived keys for web reporters (CRYPTO.md §1, 2).

The receipt phrase (encoded elsewhere, e.g. BIP-39) carries >= 128 random
bits. Everything derived from it is keyed BLAKE2b under its own label, so the
server-side lookup id reveals nothing about the reply key, and an offline
attacker holding the database must still guess 2^128 receipts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nacl.bindings

from crypto.envelope import Recipient
from crypto.kdf import fingerprint_of, labelled_prf

MIN_ENTROPY_BYTES = 16
MAX_ENTROPY_BYTES = 64
LOOKUP_LABEL = "receipt-lookup"
REPLY_SEED_LABEL = "receipt-reply-seed"
REPLY_SIGN_PLACEHOLDER = bytes(32)
"""Reply keys have no signing key; 32 zero bytes stand in for it in the fingerprint,
which no generated identity can have, so receipt and advocate fingerprints never clash."""


@dataclass(frozen=True, repr=False)
class ReplyKeyPair:
    """The reporter's X25519 reply key; it opens advocates' replies and nothing else."""

    box_public: bytes
    box_secret: bytes = field(repr=False)

    @classmethod
    def from_seed(cls, seed: bytes) -> ReplyKeyPair:
        public, secret = nacl.bindings.crypto_box_seed_keypair(seed)
        return cls(public, secret)

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.box_public, REPLY_SIGN_PLACEHOLDER)

    def recipient(self) -> Recipient:
        return Recipient(self.fingerprint, self.box_public)

    def __repr__(self) -> str:
        return f"ReplyKeyPair(fingerprint={self.fingerprint!r})"


@dataclass(frozen=True, repr=False)
class ReceiptKeys:
    """What a receipt unlocks. The service stores only keyed_hash(secret, lookup_id)."""

    lookup_id: bytes
    reply: ReplyKeyPair

    def __repr__(self) -> str:
        return f"ReceiptKeys(reply={self.reply!r})"


def derive_receipt_keys(entropy: bytes) -> ReceiptKeys:
    """lookup_id = PRF(entropy, "receipt-lookup"); reply = X25519 seed keypair from
    PRF(entropy, "receipt-reply-seed"). PRF is kdf.labelled_prf (keyed BLAKE2b)."""
    if not MIN_ENTROPY_BYTES <= len(entropy) <= MAX_ENTROPY_BYTES:
        raise ValueError("receipt entropy must be 16..64 bytes (at least 128 bits)")
    lookup_id = labelled_prf(entropy, LOOKUP_LABEL)
    reply = ReplyKeyPair.from_seed(labelled_prf(entropy, REPLY_SEED_LABEL))
    return ReceiptKeys(lookup_id, reply)
