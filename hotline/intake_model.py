"""What a channel hands intake and what it gets back, and the sealed document.

Split out of ``hotline/intake.py`` so the pipeline (``intake.py``) and the
message's write on the writer thread (``intake_write.py``) share these
without importing each other. ``hotline.intake`` re-exports every name here:
channels keep importing them from there.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from crypto import ReceiptKeys
from triage_rules.triage import Triage

from .domain import Channel, MessageId, TipId, Urgency

BODY_FORMAT = 1
THREAD_LABEL = "phone-thread"
RECEIPT_LABEL = "receipt-lookup"
EXTERNAL_LABEL = "external-id"


@dataclass(frozen=True)
class InboundAttachment:
    name: str = field(repr=False)
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Inbound:
    """One message from a reporter, as any channel hands it over.

    ``repr`` never shows content: an Inbound in a traceback leaks nothing.
    """

    channel: Channel
    text: str = field(repr=False)
    lang: str | None = None
    sender: str | None = field(default=None, repr=False)  # E.164; sealed, threads SMS/voice
    tip_id: TipId | None = None  # a follow-up to a known tip (web receipt)
    receipt: ReceiptKeys | None = field(default=None, repr=False)  # a new web tip's receipt
    external_id: str | None = field(default=None, repr=False)  # a Twilio SID, stored once
    attachments: tuple[InboundAttachment, ...] = ()
    meta: Mapping[str, str] = field(default_factory=dict, repr=False)  # sealed extras
    urgency_floor: Urgency | None = None  # channel facts, e.g. "speak now" was pressed


@dataclass(frozen=True)
class IntakeResult:
    tip_id: TipId
    tip_ref: str
    message_id: MessageId
    urgency: Urgency
    new_tip: bool
    duplicate: bool
    page: bool


StoreHook = Callable[[sqlite3.Connection, TipId, MessageId], None]
"""Extra rows written in the message's own transaction (e.g. a channel's follow-up
work), so they commit with it or not at all. Not called for a duplicate."""


def rules_channel(channel: Channel) -> str:
    """The channel name the rules know: WhatsApp messages are texts like SMS."""
    return Channel.SMS.value if channel is Channel.WHATSAPP else channel.value


def body(inbound: Inbound, now: datetime, urgency: Urgency, decision: Triage) -> bytes:
    """The sealed document: content plus everything about it that is not stored in clear."""
    doc = {
        "v": BODY_FORMAT,
        "text": inbound.text,
        "sender": inbound.sender,
        "lang": inbound.lang,
        "channel": inbound.channel.value,
        "received_at": now.isoformat(),
        "attachments": [
            {"part": i, "name": a.name, "content_type": a.content_type, "size": len(a.data)}
            for i, a in enumerate(inbound.attachments, start=1)
        ],
        "triage": {**decision.to_json(), "urgency": urgency.value},
        "meta": dict(inbound.meta),
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
