"""Advocates' SMS replies with several front ends on one database (issue 14).

A reply's retries live in the memory of the front end that took it (the number
is never stored), so "pending" belongs to that front end: another one that
starts must not declare it failed while its owner is alive, and must once the
owner's lease has run out.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from hotline.config import load_config
from hotline.errors import ClientError
from hotline.services import Services
from hotline.twilio.outbox import MAYBE_SENT, RESTARTED, SmsOutbox
from tests.helpers import store
from tests.helpers.twilio_fake import Failure, FakeTwilio
from tests.twilio.conftest import sms_server

pytestmark = pytest.mark.both_stores


def _outbox_seen_from(s: Services, *, later_by: float) -> SmsOutbox:
    """Front end ``s``'s reply outbox with its clock ``later_by`` seconds ahead."""
    assert s.twilio is not None
    return SmsOutbox(db=s.db, secret=s.secret, rest=s.twilio.rest, number="+15005550006",
                     status_callback=None, backoff=(1.0,), lease=60.0,
                     clock=lambda: time.time() + later_by)


async def test_a_front_end_starting_leaves_a_live_ones_retry_alone_and_fails_a_dead_ones(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    async with sms_server(tmp_path, fake_twilio, HOTLINE_TWILIO_RETRY_BACKOFF="1h") as a:
        await a.text("hello")
        client = await a.advocate()
        [tip] = await asyncio.to_thread(client.inbox)
        fake_twilio.fail_sends(Failure(502))
        with pytest.raises(ClientError, match="not sent yet"):
            await asyncio.to_thread(client.send, tip["id"], "reply", note=False)
        assert a.query("SELECT status FROM sms_outbox") == [("retrying",)]

        b = await Services.open(load_config(a.instance.root, a.env), a.env)  # a second front end
        try:
            assert a.query("SELECT status FROM sms_outbox") == [("retrying",)]  # a is alive
            assert await _outbox_seen_from(b, later_by=30).sweep() == 0  # still within a's lease
            assert await _outbox_seen_from(b, later_by=3600).sweep() == 1  # a's lease ran out
            assert a.query("SELECT status, error, lease_owner FROM sms_outbox") == [
                ("failed", RESTARTED, None)]
        finally:
            await b.close()
    assert fake_twilio.sent == []


async def test_a_reply_in_flight_when_its_front_end_vanished_may_have_been_sent(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    async with sms_server(tmp_path, fake_twilio) as a:
        await a.text("hello")
        client = await a.advocate()
        [tip] = await asyncio.to_thread(client.inbox)
        await asyncio.to_thread(client.send, tip["id"], "reply", note=False)
        # What a front end that died during Twilio's call leaves: the row still 'sending'.
        store.execute(a.instance.root, "UPDATE sms_outbox SET status = 'sending',"
                      " lease_owner = 'gone', lease_until = ?", (time.time() + 60,))
        outbox = _outbox_seen_from(a.services, later_by=120)
        assert await outbox.sweep() == 1
        [(status, error)] = a.query("SELECT status, error FROM sms_outbox")
        assert (status, error) == ("failed", MAYBE_SENT) and "may have reached" in error
