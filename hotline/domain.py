"""Domain values shared by every layer: channels, directions, statuses, ids.

Enums instead of strings so a new channel or status is a compile-time (mypy)
question at every ``match``, not a silent fallthrough.
"""

from __future__ import annotations

import base64
import enum
import secrets
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


def _random_b32(nbytes: int) -> str:
    return base64.b32encode(secrets.token_bytes(nbytes)).decode().rstrip("=").lower()


def new_tip_id() -> TipId:
    """128 random bits: tip ids are bound into envelopes, so they must never repeat."""
    return TipId("t" + _random_b32(16))


def new_message_id() -> MessageId:
    return MessageId("m" + _random_b32(16))


_REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: readable aloud on a page call


def new_tip_ref() -> str:
    """Short reference an advocate can read on a page or say on the phone."""
    chars = [secrets.choice(_REF_ALPHABET) for _ in range(6)]
    return "".join(chars[:3]) + "-" + "".join(chars[3:])


def is_valid_message_id(value: str) -> bool:
    return (
        len(value) == 27
        and value[0] == "m"
        and all(c in "abcdefghijklmnopqrstuvwxyz234567" for c in value[1:])
    )
