"""Domain values shared by every layer: channels, directions, statuses, ids.

Enums instead of strings so a new channel or status is a compile-time (mypy)
question at every ``match``, not a silent fallthrough.
"""

from __future__ import annotations

import base64
import enum
import os
from collections.abc import Callable
from typing import NewType

from triage_rules import Urgency

__all__ = [
    "AdvocateId",
    "Channel",
    "Direction",
    "MessageId",
    "Role",
    "Status",
    "TipId",
    "Urgency",
    "new_message_id",
    "new_tip_id",
    "new_tip_ref",
]

TipId = NewType("TipId", str)
MessageId = NewType("MessageId", str)
AdvocateId = NewType("AdvocateId", int)


class Channel(enum.Enum):
    WEB = "web"
    SMS = "sms"
    VOICE = "voice"
    WHATSAPP = "whatsapp"


class Direction(enum.Enum):
    IN = "in"  # from the reporter
    OUT = "out"  # an advocate's reply to the reporter
    NOTE = "note"  # an advocate's private note


class Status(enum.Enum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class Role(enum.Enum):
    ADVOCATE = "advocate"
    ADMIN = "admin"


Rng = Callable[[int], bytes]
"""``rng(n)``: n bytes from a cryptographic source (``os.urandom``, or a ``hotline.entropy.Draw``)."""


def _random_b32(nbytes: int, rng: Rng) -> str:
    return base64.b32encode(rng(nbytes)).decode().rstrip("=").lower()


def new_tip_id(rng: Rng = os.urandom) -> TipId:
    """128 random bits: tip ids are bound into envelopes, so they must never repeat."""
    return TipId("t" + _random_b32(16, rng))


def new_message_id(rng: Rng = os.urandom) -> MessageId:
    return MessageId("m" + _random_b32(16, rng))


_REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: readable aloud on a page call
_REF_LENGTH = 6
_REF_BYTE_LIMIT = 256 - 256 % len(_REF_ALPHABET)
"""240: a byte below it, taken modulo 30, is uniform over the alphabet; bytes from 240 up are
dropped (rejection sampling), so no character is likelier than another."""


def new_tip_ref(rng: Rng = os.urandom) -> str:
    """Short reference an advocate can read on a page or say on the phone.

    Six characters drawn uniformly and independently from the 30-letter alphabet
    (30^6 references), from bytes of ``rng``: 8 bytes give 6 usable ones 98% of the
    time; otherwise more are read. Never a byte's remainder of a biased range."""
    chars: list[str] = []
    while len(chars) < _REF_LENGTH:
        chars += ref_letters(rng(8))
    return "".join(chars[:3]) + "-" + "".join(chars[3:_REF_LENGTH])


def ref_letters(data: bytes) -> list[str]:
    """The reference letters a run of random bytes gives: one per byte below 240."""
    return [_REF_ALPHABET[b % len(_REF_ALPHABET)] for b in data if b < _REF_BYTE_LIMIT]


def is_valid_message_id(value: str) -> bool:
    return (
        len(value) == 27
        and value[0] == "m"
        and all(c in "abcdefghijklmnopqrstuvwxyz234567" for c in value[1:])
    )
