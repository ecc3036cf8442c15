"""Paging as the people carrying the pager live it: real server, real SQLite, the
Twilio REST stand-in for SMS and calls, real signatures and TwiML."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hotline.paging import admin as pa
from hotline.paging.notifiers import PAGE_ACK_PATH
from tests.helpers.instance import make_instance
from tests.helpers.twilio_fake import Failure, FakeTwilio, signed_post
from tests.twilio.conftest import HOTLINE_NUMBER, sms_server

from .helpers import ALICE_PHONE, BOB_PHONE, CANARY, CRITICAL, query, set_contact, until

pytestmark = pytest.mark.both_stores

FAST = {"HOTLINE_PAGING_RETRY_BACKOFF": "50ms,100ms"}


def _instance(tmp_path: Path, escalation: dict | None = None):  # type: ignore[no-untyped-def, type-arg]
    inst = make_instance(tmp_path)
    set_contact(inst.root, "alice", phone=ALICE_PHONE)
    set_contact(inst.root, "bob", phone=BOB_PHONE)
    pa.set_notifiers(inst.root, "alice", [("sms", None)])
    pa.set_notifiers(inst.root, "bob", [("sms", None)])
    if escalation is not None:
        pa.set_escalation(inst.root, escalation)
    return inst


def _pages_to(fake: FakeTwilio, number: str) -> list[dict]:  # type: ignore[type-arg]
    return [m for m in fake.sent if m["To"] == number]


async def test_a_critical_sms_pages_the_on_call_advocate_with_no_content(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        status, _ = await live.text(f"{CRITICAL} {CANARY}")
        assert status == 200
        pages = await until(lambda: _pages_to(fake_twilio, ALICE_PHONE), what="alice's page")
        page = pages[0]
        ref, code = query(inst.root, "SELECT t.ref, e.code FROM tips t JOIN escalations e"
                                     " ON e.tip_id = t.id")[0]
        assert page["From"] == HOTLINE_NUMBER
        assert ref in page["Body"] and code in page["Body"] and "critical" in page["Body"]
        # Never content, the reporter's number or what the rules matched.
        for forbidden in (CANARY, "hurting", "+14155550123", "danger", "violence"):
            assert forbidden not in page["Body"]
        await until(lambda: query(inst.root, "SELECT status, sent_via FROM page_outbox")
                    == [("sent", "sms")], what="the page recorded as sent")


async def test_nobody_acknowledges_so_the_next_level_is_paged_then_an_sms_reply_stops_it(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path, {"levels": [{"targets": ["oncall"]}, {"targets": ["bob"]},
                                           {"targets": ["alice"]}], "delay": "1s"})
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(CRITICAL)
        await until(lambda: _pages_to(fake_twilio, ALICE_PHONE), what="level 1")
        assert not _pages_to(fake_twilio, BOB_PHONE)  # bob only after the delay
        await until(lambda: _pages_to(fake_twilio, BOB_PHONE), within=5, what="level 2")
        code = query(inst.root, "SELECT code FROM escalations")[0][0]
        messages_before = query(inst.root, "SELECT COUNT(*) FROM messages")[0][0]
        status, twiml = await live.text(f"ack {code}", sender=BOB_PHONE)
        assert status == 200 and "Acknowledged tip" in twiml
        # The reply is not a report: no new tip, no new message.
        assert query(inst.root, "SELECT COUNT(*) FROM messages")[0][0] == messages_before
        assert query(inst.root, "SELECT COUNT(*) FROM tips")[0][0] == 1
        await asyncio.sleep(1.5)  # level 3 would have been due by now
        assert len(_pages_to(fake_twilio, ALICE_PHONE)) == 1
        esc = query(inst.root, "SELECT status, acked_via FROM escalations")[0]
        assert esc == ("acknowledged", "sms")
        tip = query(inst.root, "SELECT status, acked_by IS NOT NULL FROM tips")[0]
        assert tip == ("acknowledged", 1)


async def test_a_wrong_code_or_a_stranger_is_not_an_acknowledgement(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(CRITICAL)
        await until(lambda: _pages_to(fake_twilio, ALICE_PHONE))
        code = query(inst.root, "SELECT code FROM escalations")[0][0]
        wrong = f"{(int(code) + 1) % 10000:04d}"
        status, twiml = await live.text(wrong, sender=ALICE_PHONE)
        assert status == 200 and "No open page" in twiml
        # bob was never paged for it: his number cannot acknowledge it either.
        _, twiml = await live.text(code, sender=BOB_PHONE)
        assert "No open page" in twiml
        # A reporter texting the code is just a reporter: stored as a message, no ack.
        await live.text(code, sender="+14155550999")
        assert query(inst.root, "SELECT status FROM escalations")[0][0] == "open"
        assert query(inst.root, "SELECT COUNT(*) FROM tips")[0][0] == 2


async def test_ack_from_the_advocate_client_stops_escalation_and_the_history_shows_it(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path, {"levels": [{"targets": ["oncall"]}, {"targets": ["bob"]}],
                                "delay": "1s"})
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(CRITICAL)
        await until(lambda: _pages_to(fake_twilio, ALICE_PHONE))
        client = await live.advocate()
        tip = (await asyncio.to_thread(client.inbox))[0]
        await asyncio.to_thread(client.ack, tip["id"])
        await asyncio.sleep(1.3)
        assert not _pages_to(fake_twilio, BOB_PHONE)
        history = await asyncio.to_thread(client.http.get_json, f"/api/tips/{tip['id']}/pages")
        assert history["acked_by"] == "alice"
        assert history["escalations"][0]["acked_via"] == "api"
        assert [(p["advocate"], p["notifier"], p["status"]) for p in history["pages"]] == [
            ("alice", "sms", "acknowledged")]
        assert live.services.metrics.pages_acknowledged.labels("api")._value.get() == 1


async def test_everyone_in_the_escalation_chain_can_read_the_message(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path, {"levels": [{"targets": ["oncall"]}, {"targets": ["bob"]}],
                                "delay": "5m"})
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(f"{CRITICAL} {CANARY}")
        from hotline.client.advocate import AdvocateClient

        bob = AdvocateClient(live.url, inst.bob)
        await asyncio.to_thread(bob.login)
        tips = await asyncio.to_thread(bob.inbox)
        opened = await asyncio.to_thread(bob.read, tips[0]["id"])
        assert CANARY in opened.messages[0]["body"]


async def test_twilio_500_is_retried_until_201(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    fake_twilio.fail_sends(Failure(500, 20500), Failure(503, 20500))
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(CRITICAL)
        await until(lambda: _pages_to(fake_twilio, ALICE_PHONE), what="page after retries")
        posts = fake_twilio.calls("POST", "/Messages.json")
        assert len(posts) == 3
        await until(lambda: query(inst.root, "SELECT status, sent_via, attempt FROM page_outbox")
                    == [("sent", "sms", 2)], what="sent after two failed attempts")
        assert live.services.metrics.pages_failed.labels("sms")._value.get() == 2


async def test_a_dead_channel_falls_back_to_the_next(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    # A number Twilio refuses for good (21211): no retry helps, the call is next.
    pa.set_notifiers(inst.root, "alice", [("sms", None), ("call", None)])
    fake_twilio.fail_sends(Failure(400, 21211))
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(CRITICAL)
        await until(lambda: fake_twilio.placed_calls, what="fallback call")
        assert not fake_twilio.sent
        await until(lambda: query(inst.root, "SELECT status, sent_via, notifier_index FROM page_outbox")
                    == [("sent", "call", 1)], what="sent by the fallback")
        assert live.services  # still serving


async def test_the_page_call_speaks_the_page_and_1_acknowledges(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path, {"levels": [{"targets": ["oncall"]}, {"targets": ["bob"]}],
                                "delay": "1s"})
    pa.set_notifiers(inst.root, "alice", [("call", None)])
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(f"{CRITICAL} {CANARY}")
        call = (await until(lambda: fake_twilio.placed_calls))[0]
        assert call["To"] == ALICE_PHONE and call["From"] == HOTLINE_NUMBER
        path = call["Url"].removeprefix(live.public_url)
        form = {"AccountSid": fake_twilio.account_sid, "CallSid": call["sid"], "CallStatus": "in-progress",
                "From": HOTLINE_NUMBER, "To": ALICE_PHONE, "Direction": "outbound-api"}
        status, twiml = await signed_post(live.session, server=live.url, path=path,
                                          public_url=live.public_url,
                                          auth_token=fake_twilio.auth_token, form=form)
        assert status == 200
        root = ET.fromstring(twiml)  # noqa: S314 - our server's answer in a test
        gather = root.find("Gather")
        assert gather is not None and gather.get("numDigits") == "1"
        spoken = " ".join(s.text or "" for s in root.iter("Say"))
        ref = query(inst.root, "SELECT ref FROM tips")[0][0]
        assert " ".join(ref.replace("-", "")) in spoken and "critical" in spoken
        assert CANARY not in twiml and "hurting" not in twiml
        outbox = query(inst.root, "SELECT id FROM page_outbox")[0][0]
        assert gather.get("action") == PAGE_ACK_PATH.format(outbox_id=outbox)
        # A forged key press (bad signature) changes nothing.
        status, _ = await signed_post(live.session, server=live.url, path=gather.get("action"),
                                      public_url=live.public_url, auth_token="wrong" * 8,
                                      form={**form, "Digits": "1"})
        assert status == 403
        status, twiml = await signed_post(live.session, server=live.url, path=gather.get("action"),
                                          public_url=live.public_url,
                                          auth_token=fake_twilio.auth_token, form={**form, "Digits": "1"})
        assert status == 200 and "Acknowledged" in twiml
        assert query(inst.root, "SELECT status, acked_via FROM escalations")[0] == ("acknowledged", "call")
        await asyncio.sleep(1.3)
        assert not _pages_to(fake_twilio, BOB_PHONE)


async def test_daytime_only_urgency_waits_for_the_morning_but_critical_does_not(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    from datetime import UTC, datetime, timedelta

    inst = _instance(tmp_path)
    now = datetime.now(UTC)
    day = {"HOTLINE_PAGE_AT": "normal", "HOTLINE_PAGING_DAYTIME_ONLY": "normal,high",
           "HOTLINE_PAGING_DAY_START": (now + timedelta(hours=2)).strftime("%H:%M"),
           "HOTLINE_PAGING_DAY_END": (now + timedelta(hours=3)).strftime("%H:%M")}
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST, **day) as live:
        await live.text("I think my neighbour's workers are not paid and live in the shop",
                        sender="+14155550111")
        esc = await until(lambda: query(inst.root, "SELECT next_due, status FROM escalations"))
        assert esc[0][1] == "open" and esc[0][0] > now.timestamp() + 3600
        await live.text(CRITICAL)
        await until(lambda: _pages_to(fake_twilio, ALICE_PHONE))
        await asyncio.sleep(0.3)
        assert len(fake_twilio.sent) == 1  # only the critical one; the other waits for 'day'


async def test_no_page_below_page_at(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text("hello, what are your opening hours?")
        await asyncio.sleep(0.3)
        assert query(inst.root, "SELECT COUNT(*) FROM escalations")[0][0] == 0
        assert not fake_twilio.sent


@pytest.mark.parametrize("first_ack", [False, True])
async def test_one_escalation_per_tip(tmp_path: Path, fake_twilio: FakeTwilio, first_ack: bool) -> None:
    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(CRITICAL)
        await until(lambda: _pages_to(fake_twilio, ALICE_PHONE))
        if first_ack:
            code = query(inst.root, "SELECT code FROM escalations")[0][0]
            await live.text(code, sender=ALICE_PHONE)
        await live.text(CRITICAL + " again")
        await asyncio.sleep(0.3)
        # Running: the same escalation. Acknowledged: same urgency does not page again.
        assert query(inst.root, "SELECT COUNT(*) FROM escalations")[0][0] == 1
        assert len(_pages_to(fake_twilio, ALICE_PHONE)) == 1


async def test_a_reporter_texting_delete_is_recorded_not_stored(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text("my boss keeps my passport", sender="+14155550777")
        status, twiml = await live.text("borrar", sender="+14155550777")
        assert status == 200 and "programada para borrarse en 3 días" in twiml
        assert query(inst.root, "SELECT COUNT(*) FROM messages")[0][0] == 1
        assert query(inst.root, "SELECT via, state FROM deletion_requests") == [("sms", "pending")]
        # A number we have never seen gets the same answer and leaves nothing behind.
        _, twiml2 = await live.text("BORRAR", sender="+14155550778")
        assert twiml2 == twiml
        assert query(inst.root, "SELECT COUNT(*) FROM tips")[0][0] == 1


async def test_hotline_ack_takes_the_reference_the_page_carries(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    from tests.helpers.process import run_cli

    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(CRITICAL)
        page = (await until(lambda: _pages_to(fake_twilio, ALICE_PHONE)))[0]
        ref = page["Body"].split("tip ", 1)[1].split(" ", 1)[0]
        key = str(inst.key_file("alice"))
        out = await asyncio.to_thread(run_cli, "ack", ref.lower(), "--server", live.url, "--key", key)
        assert out.returncode == 0
        assert query(inst.root, "SELECT status, acked_via FROM escalations")[0] == ("acknowledged", "api")
        bad = await asyncio.to_thread(run_cli, "ack", "ZZZ-ZZZ", "--server", live.url, "--key", key,
                                      check=False)
        assert bad.returncode != 0 and "no tip with reference ZZZ-ZZZ" in bad.stderr


async def test_bad_signatures_are_counted_by_route_not_by_request(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        status, _ = await live.text("hello", signature="forged")
        assert status == 403
        status, _ = await signed_post(live.session, server=live.url, path="/twilio/page/99/ack",
                                      public_url=live.public_url, auth_token="x" * 32,
                                      form={"AccountSid": fake_twilio.account_sid, "Digits": "1"})
        assert status == 403
        text = await live.metrics()
        assert 'hotline_webhook_signature_failures_total{endpoint="/twilio/sms"} 1.0' in text
        assert 'endpoint="/twilio/page/{outbox}/ack"' in text and "/99/" not in text


async def test_guessing_codes_from_an_advocate_number_is_cut_off(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(CRITICAL)
        await until(lambda: _pages_to(fake_twilio, ALICE_PHONE))
        code = query(inst.root, "SELECT code FROM escalations")[0][0]
        wrong = [f"{(int(code) + i) % 10000:04d}" for i in range(1, 6)]
        for guess in wrong:
            _, twiml = await live.text(guess, sender=ALICE_PHONE)
            assert "No open page" in twiml
        _, twiml = await live.text(code, sender=ALICE_PHONE)  # even the right one, now
        assert "Too many wrong codes" in twiml
        assert query(inst.root, "SELECT status FROM escalations")[0][0] == "open"


async def test_parallel_wrong_codes_stop_at_exactly_five(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    """Count, look-up and refusal are one writer job: a parallel burst cannot overshoot."""
    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(CRITICAL)
        await until(lambda: _pages_to(fake_twilio, ALICE_PHONE))
        code = query(inst.root, "SELECT code FROM escalations")[0][0]
        wrong = [f"{(int(code) + i) % 10000:04d}" for i in range(1, 21)]
        answers = await asyncio.gather(*(live.text(g, sender=ALICE_PHONE) for g in wrong))
        assert sum("No open page" in twiml for _, twiml in answers) == 5
        assert sum("Too many wrong codes" in twiml for _, twiml in answers) == 15
        refused = query(inst.root, "SELECT COUNT(*) FROM audit WHERE action = 'page.sms_ack_refused'")
        assert refused[0][0] == 5
        assert query(inst.root, "SELECT status FROM escalations")[0][0] == "open"


async def test_each_advocate_chooses_their_own_notifiers(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    from tests.helpers.process import run_cli

    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        key = str(inst.key_file("bob"))
        run = lambda *a, **kw: asyncio.to_thread(  # noqa: E731
            run_cli, "notify", *a, "--server", live.url, "--key", key, **kw)
        out = await run("--via", "call,sms,webhook=https://ntfy.example/bob", "--json")
        via = json.loads(out.stdout)["via"]
        assert via == [{"kind": "call", "target": BOB_PHONE}, {"kind": "sms", "target": BOB_PHONE},
                       {"kind": "webhook", "target": "https://ntfy.example/bob"}]
        # Contacts stay the administrator's: nobody redirects their pages to another phone.
        bad = await run("--via", "sms=+15550000000", check=False)
        assert bad.returncode != 0 and "the phone the administrator registered" in bad.stderr
        assert query(inst.root, "SELECT kind FROM advocate_notifiers a JOIN advocates b ON"
                                " b.id = a.advocate_id WHERE b.name = 'bob' ORDER BY position") == [
            ("call",), ("sms",), ("webhook",)]
        shown = (await run()).stdout
        assert shown.startswith("You are paged by: call (+14155550102), sms")


async def test_a_page_past_its_last_level_can_still_be_acknowledged(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path, {"levels": [{"targets": ["oncall"]}], "delay": "1s"})
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(CRITICAL)
        await until(lambda: _pages_to(fake_twilio, ALICE_PHONE))
        # One level, no repeat: nothing more will be sent, but nobody has answered yet.
        assert query(inst.root, "SELECT status FROM escalations") == [("exhausted",)]
        code = query(inst.root, "SELECT code FROM escalations")[0][0]
        _, twiml = await live.text(code, sender=ALICE_PHONE)
        assert "Acknowledged tip" in twiml
        assert query(inst.root, "SELECT status, acked_via FROM escalations") == [("acknowledged", "sms")]
