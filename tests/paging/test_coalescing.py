"""A burst of critical tips, as the on-call advocate's phone sees it: one page at once,
then summary pages bounded by the window; every tip still acknowledgeable (its own
code, ``hotline ack``, the summary's code); escalation still reaches the next level;
a ``kill -9`` in the middle of a window loses and repeats nothing."""

from __future__ import annotations

import asyncio
import math
import re
import time
from pathlib import Path

import aiohttp
import pytest

from hotline.paging import admin as pa
from tests.conftest import free_port
from tests.helpers.instance import make_instance
from tests.helpers.process import ServerProcess
from tests.helpers.twilio_fake import FakeTwilio, incoming_sms_form, signed_post
from tests.twilio.conftest import sms_server, twilio_env

from .helpers import ALICE_PHONE, BOB_PHONE, CANARY, CRITICAL, query, set_contact, until

FAST = {"HOTLINE_PAGING_RETRY_BACKOFF": "50ms,100ms"}
SINGLE = re.compile(r"Hotline page: tip (\w{3}-\w{3}) \((\w+), \w+\) opened .*Reply (\d+) to acknowledge\.")
SUMMARY = re.compile(r"Hotline: (\d+) more pages \(([^)]*)\): (.*)\. Reply (\d+) to acknowledge all \1\.")


def _instance(tmp_path: Path, escalation: dict | None = None):  # type: ignore[no-untyped-def, type-arg]
    inst = make_instance(tmp_path)
    set_contact(inst.root, "alice", phone=ALICE_PHONE)
    set_contact(inst.root, "bob", phone=BOB_PHONE)
    pa.set_notifiers(inst.root, "alice", [("sms", None)])
    pa.set_notifiers(inst.root, "bob", [("sms", None)])
    if escalation is not None:
        pa.set_escalation(inst.root, escalation)
    return inst


def _bodies(fake: FakeTwilio, number: str) -> list[str]:
    return [m["Body"] for m in fake.sent if m["To"] == number]


def _tally(bodies: list[str]) -> int:
    """How many tips the pages carried: one per single page, N per summary; nothing else."""
    total = 0
    for body in bodies:
        if (m := SUMMARY.fullmatch(body)) is not None:
            total += int(m.group(1))
        else:
            assert SINGLE.fullmatch(body), body
            total += 1
    return total


async def _burst(live, count: int) -> float:  # type: ignore[no-untyped-def]
    """``count`` critical texts from as many numbers at once; seconds it took."""
    began = time.monotonic()
    results = await asyncio.gather(*(live.text(f"{CRITICAL} {CANARY}", sender=f"+1415555{i:04d}")
                                     for i in range(count)))
    assert all(status == 200 for status, _ in results)
    return time.monotonic() - began


async def test_30_criticals_page_once_then_summaries_and_each_tip_stays_acknowledgeable(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    window = 3.0
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST,
                          HOTLINE_PAGING_COALESCE_WINDOW="3s") as live:
        took = await _burst(live, 30)
        await until(lambda: _tally(_bodies(fake_twilio, ALICE_PHONE)) == 30, within=30,
                    what="all 30 tips carried by alice's pages")
        bodies = _bodies(fake_twilio, ALICE_PHONE)
        # One page at once, then summaries: at most one per window the burst touched.
        assert SINGLE.fullmatch(bodies[0]) and SUMMARY.fullmatch(bodies[-1])
        assert 2 <= len(bodies) <= 2 + math.ceil(took / window), (len(bodies), took)
        assert all(CANARY not in b and "hurting" not in b and "+1415555" not in b for b in bodies)
        # Recorded as sent once Twilio has taken the summary (just after the fake saw it).
        await until(lambda: query(inst.root, "SELECT COUNT(*) FROM page_outbox WHERE status = 'sent'")
                    == [(30,)], what="every page recorded as sent")

        # Every tip stays acknowledgeable: one in the summary by its own code ...
        summary = SUMMARY.fullmatch(bodies[-1])
        assert summary is not None
        first_ref = summary.group(3).split(", ")[0].split(" and ")[0]
        own_code = query(inst.root, "SELECT e.code FROM escalations e JOIN tips t ON t.id = e.tip_id"
                                    " WHERE t.ref = ?", (first_ref,))[0][0]
        _, twiml = await live.text(own_code, sender=ALICE_PHONE)
        assert f"Acknowledged tip {first_ref}" in twiml
        # ... the first page's tip with the advocate client ...
        single = SINGLE.fullmatch(bodies[0])
        assert single is not None
        client = await live.advocate()
        tip_id = query(inst.root, "SELECT id FROM tips WHERE ref = ?", (single.group(1),))[0][0]
        await asyncio.to_thread(client.ack, tip_id)
        # ... and the rest of the last summary by its code: every tip it carries, once.
        _, twiml = await live.text(summary.group(4), sender=ALICE_PHONE)
        carried = int(summary.group(1))
        assert f"Acknowledged {carried - 1} tips" in twiml
        # Only alice, who received it, can use a summary's code.
        _, twiml = await live.text(summary.group(4), sender=BOB_PHONE)
        assert "No open page" in twiml
        open_left = query(inst.root, "SELECT COUNT(*) FROM escalations WHERE status = 'open'")[0][0]
        assert open_left == 30 - 1 - carried
        vias = dict(query(inst.root, "SELECT acked_via, COUNT(*) FROM escalations"
                                     " WHERE status = 'acknowledged' GROUP BY acked_via"))
        assert vias == {"sms": 1, "api": 1, "sms-summary": carried - 1}
        # No reply by an advocate became a tip.
        assert query(inst.root, "SELECT COUNT(*) FROM tips") == [(30,)]


async def test_unacknowledged_tips_still_escalate_and_coalesce_for_the_next_person(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path, {"levels": [{"targets": ["oncall"]}, {"targets": ["bob"]}],
                                "delay": "2s"})
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST,
                          HOTLINE_PAGING_COALESCE_WINDOW="2s") as live:
        await _burst(live, 8)
        await until(lambda: _tally(_bodies(fake_twilio, ALICE_PHONE)) == 8, within=30,
                    what="alice's pages")
        # Nobody answers alice: every tip reaches bob, in bob's own window.
        await until(lambda: _tally(_bodies(fake_twilio, BOB_PHONE)) == 8, within=30,
                    what="level 2 for every tip")
        bob = _bodies(fake_twilio, BOB_PHONE)
        assert SINGLE.fullmatch(bob[0]) and len(bob) < 8
        code = SUMMARY.fullmatch(bob[-1])
        assert code is not None
        _, twiml = await live.text(code.group(4), sender=BOB_PHONE)
        assert "Acknowledged" in twiml
        stopped = query(inst.root, "SELECT COUNT(*) FROM escalations WHERE acked_via = 'sms-summary'")
        assert stopped == [(int(code.group(1)),)]


async def test_a_summary_call_speaks_counts_and_1_acknowledges_all(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    import xml.etree.ElementTree as ET

    inst = _instance(tmp_path)
    pa.set_notifiers(inst.root, "alice", [("call", None)])
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST,
                          HOTLINE_PAGING_COALESCE_WINDOW="1s") as live:
        await _burst(live, 4)
        calls = await until(lambda: [c for c in fake_twilio.placed_calls if "/summary/" in c["Url"]],
                            within=20, what="a summary call")
        path = calls[0]["Url"].removeprefix(live.public_url)
        form = {"AccountSid": fake_twilio.account_sid, "CallSid": calls[0]["sid"],
                "CallStatus": "in-progress", "From": "+15005550006", "To": ALICE_PHONE,
                "Direction": "outbound-api"}
        status, twiml = await signed_post(live.session, server=live.url, path=path,
                                          public_url=live.public_url,
                                          auth_token=fake_twilio.auth_token, form=form)
        assert status == 200 and "more tips are waiting" in twiml and CANARY not in twiml
        action = ET.fromstring(twiml).find("Gather").get("action")  # type: ignore[union-attr]  # noqa: S314
        status, twiml = await signed_post(live.session, server=live.url, path=action,
                                          public_url=live.public_url,
                                          auth_token=fake_twilio.auth_token,
                                          form={**form, "Digits": "1"})
        assert status == 200 and "Acknowledged" in twiml
        assert query(inst.root, "SELECT COUNT(*) FROM escalations WHERE acked_via = 'call-summary'"
                     )[0][0] >= 1


@pytest.mark.slow
async def test_kill_9_mid_window_loses_nothing_and_sends_nothing_twice(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    port = free_port()
    env = {**twilio_env(fake_twilio), **FAST, "HOTLINE_PAGING_COALESCE_WINDOW": "4s"}
    server = ServerProcess(inst.root, port, env=env).start()
    try:
        async with aiohttp.ClientSession() as session:
            for i in range(10):
                form = incoming_sms_form(account_sid=fake_twilio.account_sid,
                                         sender=f"+1415555{i:04d}", body=CRITICAL)
                status, _ = await signed_post(session, server=server.url, path="/twilio/sms",
                                              public_url=server.url,
                                              auth_token=fake_twilio.auth_token, form=form)
                assert status == 200
        await until(lambda: query(inst.root, "SELECT COUNT(*) FROM page_outbox WHERE fold IS NOT NULL")
                    == [(10,)], what="all ten pages folded")
        await until(lambda: _bodies(fake_twilio, ALICE_PHONE), what="the first page")
        held = query(inst.root, "SELECT COUNT(*) FROM page_outbox WHERE fold = 'held'"
                           " AND status = 'pending'")[0][0]
        assert held >= 1  # killed while pages wait in the window
        server.kill9()
        server = ServerProcess(inst.root, port, env=env).start()
        await until(lambda: _tally(_bodies(fake_twilio, ALICE_PHONE)) == 10, within=30,
                    what="the held pages after the restart")
        await until(lambda: query(inst.root, "SELECT status, COUNT(*) FROM page_outbox"
                                             " GROUP BY status") == [("sent", 10)],
                    what="every page recorded as sent")
        await asyncio.sleep(0.5)
        assert _tally(_bodies(fake_twilio, ALICE_PHONE)) == 10  # nothing twice
        assert query(inst.root, "SELECT DISTINCT status FROM page_summaries") == [("sent",)]
    finally:
        server.stop()
