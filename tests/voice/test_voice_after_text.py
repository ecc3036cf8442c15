"""One number, several channels, one tip (issue 12 §1): a reporter who texts,
then calls and leaves a voicemail, then texts again (and the reverse order).

Each message is sealed with its *own* channel in its header; every one of them,
and the voicemail audio, must open in the advocate CLI — a real ``hotline read``
subprocess against the real server — and the API must say which channel each
message came by.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.process import run_cli
from tests.twilio.conftest import SmsLive, eventually
from tests.voice.conftest import CALLER, WAV, TwilioCall


async def leave_voicemail(live: SmsLive, seconds: int = 9, caller: str = CALLER) -> None:
    call = TwilioCall(live, sender=caller)
    await call.start()
    await call.press("1")
    await call.press("2")
    rec = call.record_verb()
    recording_sid, _ = live.fake.add_recording(WAV)
    await call.record_action(recording_sid, seconds, rec)
    assert (await call.recording_status(recording_sid, seconds, rec=rec))[0] == 204
    # deleted at Twilio only after the voicemail is committed
    await eventually(lambda: not live.fake.recording_exists(recording_sid))
    await call.hang_up()


async def text(live: SmsLive, body: str) -> None:
    status, _ = await live.text(body, sender=CALLER)
    assert status == 200


def cli_read(live: SmsLive, tip_id: str, save: Path) -> dict[str, Any]:
    key = live.instance.key_file("alice")
    proc = run_cli("read", tip_id, "--server", live.url, "--key", str(key), "--json",
                   "--save-attachments", str(save))
    return dict(json.loads(proc.stdout))


async def check_every_message_opens(live: SmsLive, tmp_path: Path, first: str) -> None:
    [(tip_id, tip_channel)] = live.query("SELECT id, channel FROM tips")
    assert tip_channel == first
    tip = await asyncio.to_thread(cli_read, live, tip_id, tmp_path / "saved")
    messages = tip["messages"]
    assert messages and all(m.get("error") is None for m in messages), messages
    assert {m["sender"] for m in messages} <= {CALLER, None}
    texts = {m["body"]: m for m in messages if m["body"]}
    assert texts["first text"]["sender"] == texts["second text"]["sender"] == CALLER
    [voicemail] = [m for m in messages if m["attachments"]]
    [audio] = voicemail["attachments"]
    assert await asyncio.to_thread(Path(audio["saved_to"]).read_bytes) == WAV
    # the API says which channel each message came by; the tip keeps its first channel
    channels = {m["id"]: m["channel"] for m in messages}
    assert channels[voicemail["id"]] == "voice"
    assert {channels[m["id"]] for m in messages if m["body"] in ("first text", "second text")} \
        == {"sms"}
    stored = dict(live.query("SELECT id, channel FROM messages"))
    assert stored == channels


@pytest.mark.parametrize("first", ["sms", "voice"])
async def test_text_call_text_on_one_number_every_message_opens(
        voice: SmsLive, tmp_path: Path, first: str) -> None:
    if first == "sms":
        await text(voice, "first text")
        await leave_voicemail(voice)
        await text(voice, "second text")
    else:
        await leave_voicemail(voice)
        await text(voice, "first text")
        await text(voice, "second text")
    await check_every_message_opens(voice, tmp_path, first)


async def test_recovery_reseals_every_message_of_a_tip_that_crossed_channels(
        voice: SmsLive) -> None:
    """``hotline recover`` keeps each message's own context: none is skipped, all open."""
    from crypto import Identity
    from hotline.client.advocate import AdvocateClient
    from hotline.domain import Role
    from hotline.instance_setup import add_advocate
    from hotline.ops.recover import recover

    await text(voice, "first text")
    await leave_voicemail(voice)
    await text(voice, "second text")
    carol = Identity.generate("carol")
    add_advocate(voice.instance.root, carol.public, name="carol", role=Role.ADVOCATE)
    [(tip_id,)] = voice.query("SELECT id FROM tips")
    report = await asyncio.to_thread(recover, voice.instance.root, voice.instance.recovery,
                                     "carol", [tip_id])
    assert report.skipped == 0 and report.messages == voice.count("messages")
    client = AdvocateClient(voice.url, carol)
    await asyncio.to_thread(client.login)
    opened = await asyncio.to_thread(client.read, tip_id)
    assert all(m.get("error") is None for m in opened.messages), opened.messages
    assert {m["channel"] for m in opened.messages} == {"sms", "voice"}
