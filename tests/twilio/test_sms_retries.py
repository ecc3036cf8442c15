"""A delivery Twilio retries (or anyone replays) is one message and gets the answer its
first delivery got: it reads whether that delivery won the thread's automatic reply
and never claims one itself (hotline/twilio/conversations.py)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from tests.helpers.twilio_fake import FakeTwilio, sid
from tests.twilio.conftest import SmsLive, sms_server, twiml_reply

pytestmark = pytest.mark.both_stores


def _group_commits(scrape: str) -> float:
    found = re.search(r"^hotline_writer_commit_seconds_count (\S+)$", scrape, re.M)
    assert found, "no commit histogram in the scrape"
    return float(found.group(1))


async def test_a_retry_after_the_window_gets_no_reply_and_leaves_the_window_free(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    """A delivery that got no automatic reply (the thread's was taken) gets none when it is
    retried or replayed after the window either, and takes nothing: the thread's next real
    message gets the new window's reply. Before, the late retry claimed it (a reply to an
    old delivery, at a time the phone may be in someone else's hands)."""
    async with sms_server(tmp_path, fake_twilio, HOTLINE_SMS_AUTO_REPLY_WINDOW="400ms") as sms:
        assert twiml_reply((await sms.text("first"))[1]) is not None
        second = sid("SM")
        assert twiml_reply((await sms.text("second", sid=second))[1]) is None
        await asyncio.sleep(0.45)  # the window has passed
        status, twiml = await sms.text("second", sid=second)
        assert status == 200 and twiml_reply(twiml) is None
        assert twiml_reply((await sms.text("third"))[1]) is not None
        assert sms.count("messages") == 3 and sms.count("tips") == 1


async def test_retries_of_a_stored_delivery_answer_alike_and_write_nothing(sms: SmsLive) -> None:
    """Twilio retrying (our answer was lost) gets the same TwiML; the retries are reads:
    no group commit, so a replay flood does not queue work on the single writer."""
    won, lost = sid("SM"), sid("SM")
    first = twiml_reply((await sms.text("they took my phone", sid=won))[1])
    assert first is not None
    assert twiml_reply((await sms.text("and my passport", sid=lost))[1]) is None
    await asyncio.sleep(0.3)  # background start-up work settles before the count
    before = _group_commits(await sms.metrics())
    for _ in range(5):
        assert twiml_reply((await sms.text("they took my phone", sid=won))[1]) == first
        assert twiml_reply((await sms.text("and my passport", sid=lost))[1]) is None
    assert _group_commits(await sms.metrics()) - before == 0
    assert sms.count("messages") == 2 and sms.count("sms_auto_replies") == 1


async def test_a_plain_sms_is_one_group_commit(sms: SmsLive) -> None:
    """A text with nothing to follow up at Twilio (no media, message deletion off) is one
    commit: the message with its auto-reply claim. The job worker is not woken for it
    (before, each message woke it into a claim transaction of its own)."""
    await sms.text("hello")  # the first message of the run, and its auto-reply
    await asyncio.sleep(0.3)
    before = _group_commits(await sms.metrics())
    for i in range(4):
        assert (await sms.text(f"what are your hours {i}", sender=f"+1415555{i:04d}"))[0] == 200
    await asyncio.sleep(0.3)  # a woken worker would have written by now
    assert _group_commits(await sms.metrics()) - before == 4
    assert sms.count("twilio_jobs") == 0
