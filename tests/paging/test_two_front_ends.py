"""Two real ``hotline serve`` processes on one instance (one SQLite file): texts arrive
at both, pages are sent once, and after ``kill -9`` of one the survivor carries
every escalation on (issue 14)."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from hotline.paging import admin as pa
from tests.conftest import free_port
from tests.helpers.instance import make_instance
from tests.helpers.process import ServerProcess
from tests.helpers.twilio_fake import FakeTwilio, incoming_sms_form, signed_post
from tests.twilio.conftest import twilio_env

from .helpers import ALICE_PHONE, BOB_PHONE, CRITICAL, query, set_contact, until

pytestmark = pytest.mark.slow
TIPS = 6


def _refs(fake: FakeTwilio, number: str) -> Counter[str]:
    """Pages to ``number``, counted per tip reference."""
    return Counter(m.group(1) for s in fake.sent if s["To"] == number
                   if (m := re.search(r"tip (\S+) \(", s["Body"])))


async def test_two_front_ends_page_once_and_the_survivor_escalates(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = make_instance(tmp_path)
    set_contact(inst.root, "alice", phone=ALICE_PHONE)
    set_contact(inst.root, "bob", phone=BOB_PHONE)
    for who in ("alice", "bob"):
        pa.set_notifiers(inst.root, who, [("sms", None)])
    pa.set_escalation(inst.root, {"levels": [{"targets": ["oncall"]}, {"targets": ["bob"]}],
                                  "delay": "4s"})
    env = {**twilio_env(fake_twilio), "HOTLINE_PAGING_COALESCE_WINDOW": "0s",
           "HOTLINE_CLUSTER_LEASE": "2s", "HOTLINE_PAGING_RETRY_BACKOFF": "100ms"}
    a = ServerProcess(inst.root, free_port(), env=dict(env)).start()
    b = ServerProcess(inst.root, free_port(), env=dict(env)).start()
    try:
        async with aiohttp.ClientSession() as session:
            for i in range(TIPS):  # alternately to each front end, each from its own number
                server = (a, b)[i % 2]
                form = incoming_sms_form(account_sid=fake_twilio.account_sid,
                                         sender=f"+1415555{i:04d}", body=CRITICAL)
                status, _ = await signed_post(session, server=server.url, path="/twilio/sms",
                                              public_url=server.url,
                                              auth_token=fake_twilio.auth_token, form=form)
                assert status == 200
        await until(lambda: query(inst.root, "SELECT COUNT(*) FROM page_outbox"
                                             " WHERE level = 1 AND status = 'sent'") == [(TIPS,)],
                    within=30, what="every first-level page recorded sent")
        a.kill9()  # idle between levels: the second level is due in the database, nowhere else
        await until(lambda: len(_refs(fake_twilio, BOB_PHONE)) == TIPS, within=30,
                    what="every second-level page, sent by the survivor")
        await asyncio.sleep(1.0)  # room for a duplicate to show up, if there were one
        alice, bob = _refs(fake_twilio, ALICE_PHONE), _refs(fake_twilio, BOB_PHONE)
        assert len(alice) == TIPS and set(alice.values()) == {1}, alice
        assert set(bob.values()) == {1} and set(bob) == set(alice), bob
        assert query(inst.root, "SELECT DISTINCT status FROM escalations") == [("exhausted",)]
    finally:
        b.stop()
        a.stop()
