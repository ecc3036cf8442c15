"""A new tip whose short reference is already taken is stored under a fresh one
(issue 12 §1): a report is never refused because two random references met.

The reference generator is the intake's dependency (``tip_refs``); here it is
scripted to hand out a taken reference first, on every channel's new-tip path
(web form, SMS, WhatsApp, voice), over real HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import Browser
from tests.helpers.twilio_fake import FakeTwilio
from tests.paging.helpers import ALICE_PHONE, CRITICAL, set_contact
from tests.twilio.conftest import SmsLive, sms_server
from tests.voice.conftest import TwilioCall

pytestmark = pytest.mark.both_stores  # a taken reference is skipped by ON CONFLICT on both

TAKEN = "K7D-93M"


def scripted(refs: list[str]) -> Callable[[], str]:
    it: Iterator[str] = iter(refs)
    return lambda: next(it)


def refs_by_channel(live: SmsLive) -> dict[str, str]:
    return dict(live.query("SELECT channel, ref FROM tips WHERE ref != ?", (TAKEN,)))


async def web_report(live: SmsLive, text: str) -> int:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        status, _ = await Browser(live.url, session).report(text)
        return status


async def test_every_channels_new_tip_retries_a_taken_reference(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    refs = scripted([TAKEN,  # the first web tip takes it
                     TAKEN, "AAA-222",  # SMS: taken, then fresh
                     TAKEN, "AAA-333",  # WhatsApp
                     TAKEN, TAKEN, TAKEN, "AAA-444",  # voice: three times taken
                     TAKEN, "AAA-555"])  # a second web tip
    async with sms_server(tmp_path, fake_twilio, tip_refs=refs) as live:
        assert await web_report(live, "first report") == 200
        assert (await live.text("a text", sender="+14155550101"))[0] == 200
        assert (await live.text("hola", sender="whatsapp:+14155550102",
                                to="whatsapp:+15005550006"))[0] == 200
        call = TwilioCall(live, sender="+14155550103")
        await call.start()
        assert await web_report(live, "second report") == 200
        assert live.count("tips") == 5
        assert refs_by_channel(live) == {"sms": "AAA-222", "whatsapp": "AAA-333",
                                         "voice": "AAA-444", "web": "AAA-555"}
        assert live.query("SELECT channel FROM tips WHERE ref = ?", (TAKEN,)) == [("web",)]


async def test_the_page_names_the_reference_the_tip_really_has(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    from tests.conftest import free_port
    from tests.helpers.instance import make_instance

    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{free_port()}")
    set_contact(inst.root, "alice", phone=ALICE_PHONE)
    refs = scripted([TAKEN, TAKEN, "AAA-222"])
    async with sms_server(tmp_path, fake_twilio, instance=inst, tip_refs=refs) as live:
        assert await web_report(live, "first report") == 200
        assert (await live.text(CRITICAL, sender="+14155550101"))[0] == 200
        [(plan,)] = live.query("SELECT e.plan FROM escalations e JOIN tips t ON t.id = e.tip_id"
                               " WHERE t.channel = 'sms'")
        assert json.loads(plan)["tip_ref"] == "AAA-222"


async def test_references_that_never_come_free_refuse_clearly_and_store_nothing(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    refs = scripted([TAKEN] * 40)
    async with sms_server(tmp_path, fake_twilio, tip_refs=refs) as live:
        assert await web_report(live, "first report") == 200
        status, body = await live.text("a text", sender="+14155550101")
        assert status == 503, body
        assert live.count("tips") == 1 and live.count("messages") == 1
