"""Floods of deliveries the SMS webhook has seen before, or that Twilio never signed.

A delivery Twilio retries (or anyone replays) is one message and gets the answer its
first delivery got: it reads whether that delivery won the thread's automatic reply
and never claims one itself (hotline/twilio/conversations.py). A forged one is a 403,
counted, and logged at most a few times a minute (hotline/twilio/webhook.py)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from hotline.twilio.webhook import REFUSALS_LOGGED_PER_MINUTE, RefusalLog
from tests.helpers.twilio_fake import FakeTwilio, sid, sign
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


def test_refusal_lines_are_bounded_per_minute_and_the_rest_counted() -> None:
    now = [600.0]
    refusals = RefusalLog(limit=3, clock=lambda: now[0])
    assert [refusals.admit("bad_signature") for _ in range(5)] == [
        (True, {}), (True, {}), (True, {}), (False, {}), (False, {})]
    assert refusals.admit("missing_signature") == (True, {})  # each reason has its own
    now[0] = 660.0  # the next minute: the count of what was not logged, once
    assert refusals.admit("bad_signature") == (True, {"bad_signature": 2})
    assert refusals.admit("bad_signature") == (True, {})


async def test_a_forged_flood_is_refused_counted_and_not_logged_line_by_line(
        sms: SmsLive) -> None:
    """Each forged webhook is a 403 that stores nothing and is counted in the metric; the
    log gets at most REFUSALS_LOGGED_PER_MINUTE lines of it (one minute, one reason),
    where before it got one line per request."""
    flood = REFUSALS_LOGGED_PER_MINUTE + 15
    with capture_logs() as logs:
        for i in range(flood):
            status, _ = await sms.text(f"forged {i}", signature=sign("0" * 32, "x", {}))
            assert status == 403
    lines = [e for e in logs if e["event"] == "twilio.refused"]
    suppressed = sum(e["count"] for e in logs if e["event"] == "twilio.refused_suppressed")
    assert REFUSALS_LOGGED_PER_MINUTE <= len(lines) + suppressed <= flood  # a minute may turn
    assert len(lines) < flood and all(e["reason"] == "bad_signature" for e in lines)
    scrape = await sms.metrics()
    assert f'hotline_webhook_signature_failures_total{{endpoint="/twilio/sms"}} {flood}.0' in scrape
    assert sms.count("messages") == 0 and sms.count("tips") == 0
