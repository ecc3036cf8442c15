"""A call's facts, each sealed as a message of the call's tip the moment it is known.

The server forgets a message's key right after sealing, so nothing can be
added to a sealed message later. A call is therefore a short series of
messages, each committed before Twilio gets the answer that follows from it:

- ``call``: the call arrived (the caller's number, sealed, threads the tip;
  withheld numbers thread nothing, so every such call is its own tip)
- ``choice``: what the caller chose in the menu (and in which language)
- ``dial``: one per advocate rung: who, and how it went (answered, seconds)
- ``voicemail``: the recording, as an encrypted attachment (see ``voicemail``)
- ``transcription``: Twilio's text of it, only when transcription is on
- ``call_end``: how and after how long the call ended (status callback)

All carry an empty text, so triage rules read only what the caller said
(a transcription), never our own words about the call; facts go in the sealed
``meta``. Each has its own idempotency key derived from Twilio's SIDs
(``CA…``, ``CA…/choice``, ``CA…/dial/N``, ``RE…``, ``TR…``, ``CA…/end``), so
a repeated callback stores nothing twice. A kill -9 loses no fact that Twilio
was answered for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..domain import Channel, MessageId, TipId, Urgency
from ..intake import EXTERNAL_LABEL, Inbound, InboundAttachment, Intake, IntakeResult, StoreHook
from ..server_secret import ServerSecret
from ..store.seam import Store
from .forms import Call


@dataclass(frozen=True)
class CallRef:
    """Where a call's facts go: its tip, and the call's first message."""

    tip_id: TipId
    message_id: MessageId


class CallLog:
    def __init__(self, *, db: Store, secret: ServerSecret, intake: Intake) -> None:
        self.db, self._secret, self._intake = db, secret, intake

    def external_key(self, external_id: str) -> bytes:
        return self._secret.hash(EXTERNAL_LABEL, external_id.encode())

    async def find(self, call_sid: str) -> CallRef | None:
        row = None
        for key in self._secret.hashes(EXTERNAL_LABEL, call_sid.encode()):  # every version
            row = row or await self.db.fetchone(
                "SELECT id, tip_id FROM messages WHERE external_key = ?", (key,))
        return None if row is None else CallRef(TipId(row["tip_id"]), MessageId(row["id"]))

    async def started(self, call: Call) -> CallRef:
        """The call's first message, stored now if it was not yet (any step may be first)."""
        meta = {"event": "call", **{f"twilio_{k.lower()}": v for k, v in call.location.items()}}
        if call.sender is None:
            meta["caller_id"] = "withheld"
        result = await self._intake.submit(Inbound(
            channel=Channel.VOICE, text="", sender=call.sender, external_id=call.call_sid,
            meta=meta, urgency_floor=Urgency.NORMAL))  # a call to a hotline is never 'low'
        return CallRef(result.tip_id, result.message_id)

    async def fact(self, ref: CallRef | None, external_id: str, meta: Mapping[str, str], *,
                   urgency_floor: Urgency | None = None, text: str = "",
                   attachments: tuple[InboundAttachment, ...] = (),
                   with_message: StoreHook | None = None) -> IntakeResult:
        """One more sealed message of the call's tip (a new tip if the call is unknown)."""
        full = dict(meta)
        if ref is not None:
            full["call_message"] = ref.message_id
        return await self._intake.submit(Inbound(
            channel=Channel.VOICE, text=text, tip_id=ref.tip_id if ref else None,
            external_id=external_id, attachments=attachments, meta=full,
            urgency_floor=urgency_floor), with_message=with_message)
