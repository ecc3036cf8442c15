"""Twilio's voice webhook forms, read strictly into typed values.

Every parser takes the verified form (and our own step URL's query, which
Twilio signed along with it) and returns a frozen value whose ``repr`` shows
no number or key; a field that is missing or malformed is a ``BadRequest``
naming the field, never quoting it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ..errors import BadRequest
from ..twilio.webhook import is_sid

_DIGITS: Final = re.compile(r"[0-9*#]{0,20}")  # fullmatch: "$" would allow a final "\n"
_E164: Final = re.compile(r"^\+[1-9][0-9]{6,14}$")
# What Twilio puts in From when the caller withheld their number (Twilio's docs on
# anonymous callers); all such calls would share one thread if we threaded on them.
WITHHELD: Final = frozenset({"+266696687", "+7378742833", "+2562533", "+8656696",
                             "+86282452253", "anonymous", "restricted", "unknown", "private",
                             "blocked", "unavailable"})
_LOCATION: Final = ("FromCity", "FromState", "FromZip", "FromCountry", "CallerName")
CALL_STATUSES: Final = frozenset({"queued", "ringing", "in-progress", "completed", "busy",
                                  "failed", "no-answer", "canceled"})
CALL_ENDED: Final = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
DIAL_STATUSES: Final = frozenset({"completed", "answered", "busy", "no-answer", "failed",
                                  "canceled"})
DIAL_ANSWERED: Final = frozenset({"completed", "answered"})
RECORDING_STATUSES: Final = frozenset({"in-progress", "completed", "absent", "failed"})


def _text(form: Mapping[str, str], name: str, *, required: bool = True, limit: int = 64) -> str:
    value = form.get(name)
    if value is None or (required and not value.strip()):
        if required:
            raise BadRequest(f"the webhook has no {name}")
        return ""
    if len(value) > limit:
        raise BadRequest(f"the webhook's {name} is too long")
    return value


def _sid(form: Mapping[str, str], name: str, prefix: str) -> str:
    value = _text(form, name)
    if not is_sid(value, prefix):
        raise BadRequest(f"the webhook's {name} is malformed")
    return value


def _seconds(form: Mapping[str, str], name: str) -> int | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    if not re.fullmatch(r"-?[0-9]{1,6}", value):
        raise BadRequest(f"the webhook's {name} is not a number of seconds")
    return max(0, int(value))  # Twilio sends -1 for "no recording"


def _one_of(form: Mapping[str, str], name: str, allowed: frozenset[str]) -> str:
    value = _text(form, name)
    if value not in allowed:
        raise BadRequest(f"the webhook's {name} is not one Twilio sends")
    return value


def caller_number(raw: str) -> str | None:
    """The number to seal and thread on, or None when the caller withheld it."""
    value = raw.strip()
    if value.lower() in WITHHELD or not _E164.match(value):
        return None
    return value


@dataclass(frozen=True)
class Call:
    """Fields every request about the call carries (not the recording callbacks)."""

    call_sid: str = field(repr=False)
    sender: str | None = field(repr=False)  # None: withheld or not a phone number
    location: Mapping[str, str] = field(repr=False)


def parse_call(form: Mapping[str, str]) -> Call:
    sid = _sid(form, "CallSid", "CA")
    raw_from = _text(form, "From", limit=80)
    location = {k: form[k][:100] for k in _LOCATION if form.get(k)}
    return Call(sid, caller_number(raw_from), location)


def parse_digits(form: Mapping[str, str]) -> str:
    """The keys pressed ('' for none); Twilio sends 'hangup' when a recording ends so."""
    value = form.get("Digits", "")
    if value == "hangup":
        return ""
    if not _DIGITS.fullmatch(value):
        raise BadRequest("the webhook's Digits is malformed")
    return value


@dataclass(frozen=True)
class DialResult:
    status: str
    duration: int | None

    @property
    def answered(self) -> bool:
        return self.status in DIAL_ANSWERED


def parse_dial(form: Mapping[str, str]) -> DialResult:
    return DialResult(_one_of(form, "DialCallStatus", DIAL_STATUSES),
                      _seconds(form, "DialCallDuration"))


@dataclass(frozen=True)
class Recording:
    call_sid: str = field(repr=False)
    recording_sid: str = field(repr=False)
    duration: int | None
    status: str  # "completed" for the <Record> action (it has no RecordingStatus)


def parse_recording(form: Mapping[str, str], *, status_callback: bool) -> Recording:
    status = _one_of(form, "RecordingStatus", RECORDING_STATUSES) if status_callback else "completed"
    return Recording(_sid(form, "CallSid", "CA"), _sid(form, "RecordingSid", "RE"),
                     _seconds(form, "RecordingDuration"), status)


@dataclass(frozen=True)
class CallEnd:
    call_sid: str = field(repr=False)
    status: str
    duration: int | None


def parse_call_status(form: Mapping[str, str]) -> CallEnd:
    return CallEnd(_sid(form, "CallSid", "CA"), _one_of(form, "CallStatus", CALL_STATUSES),
                   _seconds(form, "CallDuration"))


@dataclass(frozen=True)
class Transcription:
    call_sid: str = field(repr=False)
    transcription_sid: str = field(repr=False)
    recording_sid: str = field(repr=False)
    text: str = field(repr=False)
    completed: bool


def parse_transcription(form: Mapping[str, str]) -> Transcription:
    status = _text(form, "TranscriptionStatus", limit=20)
    if status not in ("completed", "failed"):
        raise BadRequest("the webhook's TranscriptionStatus is not one Twilio sends")
    return Transcription(_sid(form, "CallSid", "CA"), _sid(form, "TranscriptionSid", "TR"),
                         _sid(form, "RecordingSid", "RE"),
                         _text(form, "TranscriptionText", required=False, limit=20_000),
                         status == "completed")


# -- our own step URLs' query (signed by Twilio with the rest of the URL) -------

@dataclass(frozen=True)
class StepQuery:
    lang: str | None
    attempt: int
    choice: str | None
    order: tuple[int, ...]
    index: int


CHOICES: Final = ("talk", "message", "danger", "none")


def parse_step(query: Mapping[str, str], languages: tuple[str, ...]) -> StepQuery:
    lang = query.get("lang")
    if lang is not None and lang not in languages:
        raise BadRequest("the step's lang is not an offered language")
    attempt = query.get("try", "1")
    if attempt not in ("1", "2"):
        raise BadRequest("the step's try is out of range")
    choice = query.get("choice")
    if choice is not None and choice not in CHOICES:
        raise BadRequest("the step's choice is unknown")
    order_text = query.get("order", "")
    if not re.fullmatch(r"([0-9]{1,9}(-[0-9]{1,9}){0,19})?", order_text):
        raise BadRequest("the step's order is malformed")
    order = tuple(int(x) for x in order_text.split("-")) if order_text else ()
    index_text = query.get("n", "0")
    if not re.fullmatch(r"[0-9]{1,2}", index_text) or int(index_text) >= max(1, len(order)):
        raise BadRequest("the step's n is out of range")
    return StepQuery(lang, int(attempt), choice, order, int(index_text))
