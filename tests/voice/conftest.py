"""Twilio's side of a phone call, for the voice channel's tests.

``TwilioCall`` behaves as Twilio does with our TwiML: it posts the incoming
call webhook with every field Twilio sends, signed with twilio's own
``RequestValidator`` over the public URL; parses each answer with
``xml.etree``; and follows it: a ``<Gather>``'s ``action`` with ``Digits``
when a key is pressed, else the verb after it (``<Redirect>``) without
Digits; a ``<Dial>``'s ``action`` with ``DialCallStatus``/``DialCallDuration``;
a ``<Record>``'s ``action`` with ``RecordingUrl``/``RecordingSid``/
``RecordingDuration`` and its ``recordingStatusCallback`` with the fields of
a real one (no From/To). Recordings are served by the REST stand-in.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from hotline.instance_setup import set_on_call
from tests.helpers import store
from tests.helpers.instance import TestInstance, make_instance
from tests.helpers.twilio_fake import API_VERSION, FakeTwilio, sid, sign
from tests.twilio.conftest import HOTLINE_NUMBER, SmsLive, fake_twilio, sms_server

CALLER = "+14155550188"
ALICE_PHONE, BOB_PHONE = "+15005550101", "+15005550102"
WAV = b"RIFF\x24\x80\x00\x00WAVEfmt " + bytes(range(256)) * 300  # > one 64 KiB chunk


@dataclass
class Twiml:
    """One TwiML answer, parsed."""

    status: int
    text: str
    root: ET.Element = field(init=False)

    def __post_init__(self) -> None:
        assert self.status == 200, (self.status, self.text)
        self.root = ET.fromstring(self.text)  # noqa: S314 - our server's answer in a test
        assert self.root.tag == "Response", self.text

    def verbs(self) -> list[str]:
        return [e.tag for e in self.root]

    def first(self, tag: str) -> ET.Element | None:
        return self.root.find(tag)

    def said(self) -> list[tuple[str, str]]:
        """(language, text) of every ``<Say>``, including those inside a ``<Gather>``."""
        return [(e.get("language", ""), e.text or "") for e in self.root.iter("Say")]

    @property
    def dialled(self) -> str | None:
        d = self.first("Dial")
        if d is None:
            return None
        n = d.find("Number")
        return (n.text if n is not None else d.text) or None


def _call_params(account: str, call_sid: str, sender: str, status: str = "in-progress"
                 ) -> dict[str, str]:
    """What Twilio sends with every request about a call (TWILIO.md §2, incoming call)."""
    return {
        "AccountSid": account, "ApiVersion": API_VERSION, "CallSid": call_sid,
        "CallStatus": status, "Called": HOTLINE_NUMBER, "CalledCity": "", "CalledCountry": "US",
        "CalledState": "CA", "CalledZip": "", "Caller": sender, "CallerCity": "OAKLAND",
        "CallerCountry": "US", "CallerState": "CA", "CallerZip": "94607",
        "Direction": "inbound", "From": sender, "FromCity": "OAKLAND", "FromCountry": "US",
        "FromState": "CA", "FromZip": "94607", "To": HOTLINE_NUMBER, "ToCity": "",
        "ToCountry": "US", "ToState": "CA", "ToZip": "",
    }


class TwilioCall:
    def __init__(self, live: SmsLive, *, sender: str = CALLER, call_sid: str | None = None) -> None:
        self.live, self.sender = live, sender
        self.call_sid = call_sid or sid("CA")
        self.last: Twiml | None = None
        self.history: list[Twiml] = []

    @property
    def fake(self) -> FakeTwilio:
        return self.live.fake

    def params(self, status: str = "in-progress") -> dict[str, str]:
        return _call_params(self.fake.account_sid, self.call_sid, self.sender, status)

    async def post(self, url: str, form: Mapping[str, str], *, signature: str | None = None,
                   sign_url: str | None = None) -> tuple[int, str]:
        """POST like Twilio to a URL from our TwiML (absolute, on the public URL)."""
        assert url.startswith(self.live.public_url), url
        parts = urlsplit(url)
        target = self.live.url + parts.path + (f"?{parts.query}" if parts.query else "")
        sig = signature if signature is not None else sign(self.fake.auth_token,
                                                            sign_url or url, form)
        headers = {"User-Agent": "TwilioProxy/1.1"}
        if sig:
            headers["X-Twilio-Signature"] = sig
        async with self.live.session.post(target, data=dict(form), headers=headers) as r:
            return r.status, await r.text()

    async def _step(self, url: str, form: Mapping[str, str]) -> Twiml:
        t = Twiml(*await self.post(url, form))
        self.last = t
        self.history.append(t)
        return t

    async def start(self) -> Twiml:
        return await self._step(self.live.public_url + "/twilio/voice",
                                self.params("ringing"))

    async def press(self, digits: str | None) -> Twiml:
        """Answer the current ``<Gather>``: keys, or none (Twilio goes on to the next verb)."""
        assert self.last is not None
        gather = self.last.first("Gather")
        assert gather is not None, self.last.text
        if digits is None:
            after = self.last.verbs()[self.last.verbs().index("Gather") + 1:]
            assert after and after[0] == "Redirect", self.last.text
            redirect = self.last.first("Redirect")
            assert redirect is not None and redirect.text
            return await self._step(redirect.text, self.params())
        return await self._step(gather.get("action", ""), {**self.params(), "Digits": digits})

    async def dial_result(self, status: str, duration: int | None = None) -> Twiml:
        assert self.last is not None
        d = self.last.first("Dial")
        assert d is not None and d.get("action"), self.last.text
        form = {**self.params(), "DialCallStatus": status, "DialCallSid": sid("CA"),
                "DialBridged": "true" if status == "completed" else "false"}
        if duration is not None:
            form["DialCallDuration"] = str(duration)
        return await self._step(d.get("action", ""), form)

    def record_verb(self) -> ET.Element:
        assert self.last is not None
        rec = self.last.first("Record")
        assert rec is not None, self.last.text
        return rec

    def recording_form(self, recording_sid: str, duration: int) -> dict[str, str]:
        url = (f"https://api.twilio.com/{API_VERSION}/Accounts/{self.fake.account_sid}"
               f"/Recordings/{recording_sid}")
        return {"RecordingUrl": url, "RecordingSid": recording_sid,
                "RecordingDuration": str(duration)}

    async def record_action(self, recording_sid: str, duration: int = 12,
                            rec: ET.Element | None = None) -> Twiml:
        rec = rec if rec is not None else self.record_verb()
        form = {**self.params(), **self.recording_form(recording_sid, duration), "Digits": "#"}
        return await self._step(rec.get("action", ""), form)

    async def recording_status(self, recording_sid: str, duration: int = 12,
                               status: str = "completed", rec: ET.Element | None = None
                               ) -> tuple[int, str]:
        """The recordingStatusCallback as Twilio sends it: no From, To or ApiVersion."""
        rec = rec if rec is not None else self.record_verb()
        form = {"AccountSid": self.fake.account_sid, "CallSid": self.call_sid,
                "RecordingSid": recording_sid, "RecordingStatus": status,
                "RecordingUrl": self.recording_form(recording_sid, duration)["RecordingUrl"],
                "RecordingDuration": str(duration), "RecordingChannels": "1",
                "RecordingStartTime": "Mon, 01 Jan 2024 00:00:00 +0000",
                "RecordingSource": "RecordVerb", "ErrorCode": "0"}
        return await self.post(rec.get("recordingStatusCallback", ""), form)

    async def transcription(self, recording_sid: str, text: str,
                            url: str | None = None) -> tuple[int, str]:
        rec = self.record_verb() if url is None else None
        target = url or (rec.get("transcribeCallback", "") if rec is not None else "")
        form = {"AccountSid": self.fake.account_sid, "CallSid": self.call_sid,
                "TranscriptionSid": sid("TR"), "TranscriptionText": text,
                "TranscriptionStatus": "completed", "RecordingSid": recording_sid,
                "RecordingUrl": self.recording_form(recording_sid, 1)["RecordingUrl"],
                "TranscriptionUrl": "https://api.twilio.com/x", "ApiVersion": API_VERSION}
        return await self.post(target, form)

    async def hang_up(self, duration: int = 30, status: str = "completed") -> tuple[int, str]:
        """The number's call status callback (set in the Twilio console)."""
        return await self.post(self.live.public_url + "/twilio/voice/status",
                               {**self.params(status), "CallDuration": str(duration)})


def give_phones(inst: TestInstance, *, on_call: list[str]) -> None:
    store.execute(inst.root, "UPDATE advocates SET phone = ? WHERE name = 'alice'", (ALICE_PHONE,))
    store.execute(inst.root, "UPDATE advocates SET phone = ? WHERE name = 'bob'", (BOB_PHONE,))
    set_on_call(inst.root, on_call)


@pytest.fixture
async def voice(tmp_path: Path, fake_twilio: FakeTwilio) -> AsyncIterator[SmsLive]:
    """A live service with alice then bob on call, both with phones."""
    from tests.conftest import free_port

    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    give_phones(inst, on_call=["alice", "bob"])
    async with sms_server(tmp_path, fake_twilio, instance=inst) as live:
        yield live


async def messages_of_only_tip(live: SmsLive, save: Path | None = None
                               ) -> tuple[dict[str, object], list[dict[str, object]]]:
    import asyncio

    client = await live.advocate()
    inbox = await asyncio.to_thread(client.inbox)
    assert len(inbox) == 1, inbox
    opened = await asyncio.to_thread(client.read, inbox[0]["id"], save)
    return opened.tip, opened.messages


def events(messages: list[dict[str, object]]) -> list[str]:
    return [str(m["meta"]["event"]) for m in messages]  # type: ignore[index]


__all__ = [
    "ALICE_PHONE",
    "BOB_PHONE",
    "CALLER",
    "WAV",
    "TwilioCall",
    "Twiml",
    "aiohttp",
    "events",
    "fake_twilio",
    "give_phones",
    "messages_of_only_tip",
]
