"""A reporter's deletion request waits out a grace period (issue 12 §4).

One SMS "DELETE" from the reporter's number (which an abuser may hold, or
spoof) must not shred the tip in the same second. Driven as it is used: the
real server over HTTP, Twilio's signed webhooks against the local stand-in,
real SQLite and key store, the advocate client and CLI. Time passing is the
retention pass's own ``now`` (or, across a restart, the request's stored due
time moved into the past), never a sleep.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crypto import CryptoError, open_envelope, unwrap
from hotline.client.advocate import AdvocateClient
from hotline.errors import ClientError
from hotline.ops.runtime import retention_pass
from hotline.paging import admin as pa
from tests.conftest import Browser, Live
from tests.helpers.html import form_by_action, receipt_words
from tests.helpers.instance import make_instance
from tests.helpers.process import run_cli
from tests.helpers.twilio_fake import FakeTwilio
from tests.paging.helpers import ALICE_PHONE, CANARY, query, set_contact, until
from tests.twilio.conftest import REPORTER, SmsLive, sms_server, twiml_reply

FAST = {"HOTLINE_PAGING_RETRY_BACKOFF": "50ms,100ms"}
QUIET = "hello, what are your opening hours?"  # low urgency: no report page of its own
LATER = timedelta(hours=72, minutes=1)


def _instance(tmp_path: Path) -> Any:  # tests.helpers.instance.TestInstance
    inst = make_instance(tmp_path)
    set_contact(inst.root, "alice", phone=ALICE_PHONE)
    pa.set_notifiers(inst.root, "alice", [("sms", None)])
    return inst


def _deletion_pages(fake: FakeTwilio) -> list[dict[str, str]]:
    return [m for m in fake.sent if m["To"] == ALICE_PHONE and "deletion requested" in m["Body"]]


def _request(root: Path, tip_id: str) -> tuple[Any, ...] | None:
    rows = query(root, "SELECT state, via, requested_at, effective_at, repeats FROM"
                       " deletion_requests WHERE tip_id = ?", (tip_id,))
    return rows[0] if rows else None


def _audit(root: Path, tip_id: str) -> list[tuple[str, str, str | None]]:
    return [(r[0], r[1], r[2]) for r in query(
        root, "SELECT actor, action, detail FROM audit WHERE tip_id = ? ORDER BY id", (tip_id,))]


def _stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


async def _pass_at(live: SmsLive | Live, at: datetime) -> list[tuple[str, str]]:
    s = live.services
    return [(d.tip_id, d.reason) for d in await retention_pass(s.config, s.db, s.keystore,
                                                               s.metrics, at)]


async def _metrics(live: SmsLive) -> str:
    return await live.metrics()


async def test_an_sms_delete_waits_pages_without_content_and_a_later_message_cancels_it(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(f"{QUIET} {CANARY}")
        tip_id, ref = query(inst.root, "SELECT id, ref FROM tips")[0]
        status, twiml = await live.text("DELETE")
        assert status == 200
        reply = twiml_reply(twiml)
        assert reply == ("We got your request. This conversation is set to be deleted in "
                         "3 days. If you write to us again before then, it will not be deleted.")
        # Whoever holds the phone reads this: nothing about advocates, holds or the report.
        for word in ("advocate", "hold", "report", "staff", "review", CANARY):
            assert word not in reply.lower()

        # Not shredded: the tip, its message and its key are all still there.
        assert live.count("tips") == 1 and live.count("messages") == 1
        assert await live.services.keystore.get(tip_id) is not None
        state, via, requested, effective, repeats = _request(inst.root, tip_id)  # type: ignore[misc]
        assert (state, via, repeats) == ("pending", "sms", 0)
        assert _stamp(effective) - _stamp(requested) == timedelta(hours=72)

        # The advocate on the tip is paged, with the reference and nothing else.
        page = (await until(lambda: _deletion_pages(fake_twilio), what="the deletion page"))[0]
        assert f"deletion requested for tip {ref}" in page["Body"]
        for forbidden in (CANARY, REPORTER, "opening hours"):
            assert forbidden not in page["Body"]

        # Repeats, the reporter's or a spoofer's, change nothing but a counter.
        for word in ("DELETE", "delete", "BORRAR"):
            _, again = await live.text(word)
            assert twiml_reply(again) is not None
        assert _request(inst.root, tip_id) == ("pending", "sms", requested, effective, 3)
        assert query(inst.root, "SELECT COUNT(*) FROM escalations")[0][0] == 1
        assert query(inst.root, "SELECT COUNT(*) FROM page_outbox")[0][0] == 1
        assert [a for a in _audit(inst.root, tip_id) if a[1] == "tip.deletion_requested"] == \
            [("reporter:sms", "tip.deletion_requested", f"via=sms effective_at={effective}")]
        # A number we have never seen gets the same answer and leaves nothing behind.
        _, stranger = await live.text("DELETE", sender="+14155550999")
        assert stranger == twiml and live.count("tips") == 1

        assert "hotline_deletion_requests_pending 1.0" in await _metrics(live)
        # The reporter writes again: the request is cancelled, its page stops, it is audited.
        await live.text("sorry, please ignore that, I still need help")
        assert "hotline_deletion_requests_pending 0.0" in await _metrics(live)
        assert _request(inst.root, tip_id)[0] == "cancelled"  # type: ignore[index]
        assert ("reporter:sms", "tip.deletion_cancelled", "via=sms was=pending") in \
            _audit(inst.root, tip_id)
        assert query(inst.root, "SELECT status FROM escalations") == [("cancelled",)]

        # Long after the grace period, nothing is deleted.
        assert await _pass_at(live, datetime.now(UTC) + LATER) == []
        assert await live.services.keystore.get(tip_id) is not None
        assert live.count("messages") == 2


async def test_a_hold_keeps_the_tip_past_the_grace_and_a_release_lets_it_go(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text(QUIET)
        tip_id, ref = query(inst.root, "SELECT id, ref FROM tips")[0]
        alice = await live.advocate()
        with pytest.raises(ClientError, match="no deletion request is pending"):
            await asyncio.to_thread(alice.http.post_json, f"/api/tips/{tip_id}/deletion/hold", {})
        await live.text("BORRAR")
        tip = await asyncio.to_thread(alice.http.get_json, f"/api/tips/{tip_id}")
        assert tip["deletion"]["state"] == "pending" and tip["deletion"]["via"] == "sms"
        await until(lambda: _deletion_pages(fake_twilio), what="the deletion page")

        # The CLI, as the advocate paged would use it: by the reference on the page.
        key, url = str(inst.key_file("alice")), live.url
        held = json.loads((await asyncio.to_thread(
            run_cli, "deletion", "hold", ref, "--server", url, "--key", key, "--json")).stdout)
        assert held["state"] == "held" and held["held_by"] == "alice" and held["changed"]
        shown = await asyncio.to_thread(run_cli, "deletion", "show", ref, "--server", url,
                                        "--key", key)
        assert f"deletion held by alice since {held['held_at']}" in shown.stdout
        # Someone not on the tip cannot see or touch it (the same answer as "no such tip").
        bob = AdvocateClient(live.url, inst.bob)
        await asyncio.to_thread(bob.login)
        with pytest.raises(ClientError, match="not shared with you"):
            await asyncio.to_thread(bob.http.post_json, f"/api/tips/{tip_id}/deletion/release", {})

        assert await _pass_at(live, datetime.now(UTC) + LATER) == []
        assert await live.services.keystore.get(tip_id) is not None

        released = await asyncio.to_thread(
            alice.http.post_json, f"/api/tips/{tip_id}/deletion/release", {})
        assert released["state"] == "pending" and released["held_by"] is None
        assert await _pass_at(live, datetime.now(UTC) + LATER) == [(tip_id, "reporter-request")]
        assert await live.services.keystore.get(tip_id) is None
        with pytest.raises(ClientError, match="no such tip"):
            await asyncio.to_thread(alice.http.get_json, f"/api/tips/{tip_id}")
    actions = [(a[1], a[2]) for a in _audit(inst.root, tip_id)]
    assert ("tip.deletion_held", None) in actions and ("tip.deletion_released", None) in actions
    assert actions[-1] == ("tip.deleted", "reason=reporter-request channel=sms messages=1 attachments=0")
    fingerprint = inst.alice.public.fingerprint
    assert (fingerprint, "tip.deletion_held", None) in _audit(inst.root, tip_id)


async def test_a_due_request_runs_after_a_restart_and_a_held_one_never_does(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    due_sender, held_sender = "+14155550301", "+14155550302"
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        for sender in (due_sender, held_sender):
            await live.text(f"{QUIET} {CANARY}", sender=sender)
            await live.text("DELETE", sender=sender)
        due_tip, held_tip = (r[0] for r in query(
            inst.root, "SELECT tip_id FROM audit WHERE action = 'tip.deletion_requested'"
                       " ORDER BY id"))
        alice = await live.advocate()
        await asyncio.to_thread(alice.http.post_json, f"/api/tips/{held_tip}/deletion/hold", {})
        wrapped = bytes(query(inst.root, "SELECT envelope FROM messages WHERE tip_id = ?",
                              (due_tip,))[0][0])
        assert live.count("tips") == 2  # nothing went while the service ran
    # Time passes while the service is down: both requests are long past their due time.
    conn = sqlite3.connect(inst.root / "hotline.db")
    with conn:
        conn.execute("UPDATE deletion_requests SET effective_at = '2000-01-01T00:00:00Z'")
    conn.close()

    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await until(lambda: not query(inst.root, "SELECT 1 FROM tips WHERE id = ?", (due_tip,)),
                    within=30, what="the due request executed after the restart")
        assert await live.services.keystore.get(due_tip) is None
        # The same pass looked at the held one and left it.
        assert query(inst.root, "SELECT id FROM tips") == [(held_tip,)]
        assert await live.services.keystore.get(held_tip) is not None
        assert _request(inst.root, held_tip)[0] == "held"  # type: ignore[index]
    status = json.loads((await asyncio.to_thread(
        run_cli, "retention", "status", str(inst.root), "--json")).stdout)
    assert [(r["tip"], r["state"], r["via"]) for r in status["requests"]] == \
        [(held_tip, "held", "sms")] and status["due"] == []
    assert _audit(inst.root, due_tip)[-1] == (
        "retention", "tip.deleted", "reason=reporter-request channel=sms messages=1 attachments=0")
    with pytest.raises(CryptoError):  # the copy taken before: nothing opens it any more
        open_envelope(wrapped, inst.recovery)
    with pytest.raises(CryptoError):
        unwrap(bytes(32), wrapped, label=due_tip)


async def test_the_follow_up_page_deletion_waits_pages_and_a_new_message_cancels_it(
        live: Live, browser: Browser) -> None:
    _, html = await browser.report(f"please forget what I wrote {CANARY}", lang="es")
    words = " ".join(receipt_words(html))

    async def thread() -> str:
        _, page = await browser.get("/followup?lang=es")
        _, opened = await browser.submit(form_by_action(page, "/followup"), {"receipt": words})
        return opened

    opened = await thread()
    assert "Si lo pides, la borramos 3 días después" in opened
    status, done = await browser.submit(form_by_action(opened, "/followup/delete"), {})
    assert status == 200
    assert "Esta conversación está programada para borrarse en 3 días" in done
    root = live.instance.root
    tip_id = query(root, "SELECT id FROM tips")[0][0]
    assert _request(root, tip_id)[:2] == ("pending", "web")  # type: ignore[index]
    assert await live.services.keystore.get(tip_id) is not None
    # The page went out (here through the console notifier: no Twilio), without content.
    await until(lambda: query(root, "SELECT o.status, o.sent_via FROM page_outbox o JOIN"
                                    " escalations e ON e.id = o.escalation_id WHERE"
                                    " e.id LIKE 'deletion-%'") == [("sent", "console")],
                what="the deletion page sent")
    log = (root / "logs" / "hotline.log").read_text()
    assert '"kind": "deletion_requested"' in log and CANARY not in log

    # The reporter adds a message with the receipt: the request is cancelled.
    opened = await thread()
    _, added = await browser.submit(form_by_action(opened, "/followup/add"),
                                    {"message": "no, keep it please"})
    assert _request(root, tip_id)[0] == "cancelled"  # type: ignore[index]
    assert await _pass_at(live, datetime.now(UTC) + LATER) == []

    # Asking again starts over, and this time the grace period runs out.
    status, _ = await browser.submit(form_by_action(added, "/followup/delete"), {})
    assert status == 200 and _request(root, tip_id)[0] == "pending"  # type: ignore[index]
    assert query(root, "SELECT COUNT(*) FROM escalations WHERE id LIKE 'deletion-%'")[0][0] == 2
    assert await _pass_at(live, datetime.now(UTC)) == []  # not yet
    assert await _pass_at(live, datetime.now(UTC) + LATER) == [(tip_id, "reporter-request")]
    assert await live.services.keystore.get(tip_id) is None
    _, page = await browser.get("/followup")
    status, _ = await browser.submit(form_by_action(page, "/followup"), {"receipt": words})
    assert status == 404  # like any unknown receipt


async def test_a_grace_period_in_seconds_runs_by_itself(tmp_path: Path,
                                                         fake_twilio: FakeTwilio) -> None:
    """The ops loop wakes for the due time (not its 10-minute interval): short for tests."""
    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, HOTLINE_DELETION_GRACE="1s",
                          **FAST) as live:
        await live.text(QUIET)
        _, twiml = await live.text("DELETE")
        assert "deleted in 1 second." in (twiml_reply(twiml) or "")
        await until(lambda: live.count("tips") == 0, within=30, what="the shred after 1s")


async def test_with_reporter_deletion_off_the_word_is_an_ordinary_message(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    """No reply may promise a deletion the instance will not do."""
    inst = _instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst, HOTLINE_REPORTER_DELETION="false",
                          **FAST) as live:
        await live.text(QUIET)
        _, twiml = await live.text("DELETE")
        assert "deleted" not in (twiml_reply(twiml) or "")
        assert live.count("messages") == 2 and live.count("deletion_requests") == 0


async def test_whatsapp_is_the_same_and_recorded_as_such(tmp_path: Path,
                                                         fake_twilio: FakeTwilio) -> None:
    inst = _instance(tmp_path)
    wa = {"sender": "whatsapp:" + REPORTER, "to": "whatsapp:+15005550006"}
    async with sms_server(tmp_path, fake_twilio, instance=inst, **FAST) as live:
        await live.text("hola, una pregunta", **wa)
        tip_id = query(inst.root, "SELECT id FROM tips")[0][0]
        _, twiml = await live.text("eliminar", **wa)
        assert "programada para borrarse en 3 días" in (twiml_reply(twiml) or "")
        assert _request(inst.root, tip_id)[:2] == ("pending", "whatsapp")  # type: ignore[index]
        await live.text("mejor no", **wa)
        assert ("reporter:whatsapp", "tip.deletion_cancelled", "via=whatsapp was=pending") in \
            _audit(inst.root, tip_id)


_UNITS = {"day": 86400, "días": 86400, "día": 86400, "days": 86400, "hour": 3600, "hours": 3600,
          "hora": 3600, "horas": 3600, "minute": 60, "minutes": 60, "minuto": 60, "minutos": 60,
          "second": 1, "seconds": 1, "segundo": 1, "segundos": 1}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_grace_period_in_words_says_exactly_the_setting(lang: str) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from hotline.twilio.texts import duration_words

    @settings(max_examples=300, deadline=None)
    @given(st.integers(min_value=1, max_value=90 * 86400))
    def says(seconds: int) -> None:
        number, unit = duration_words(lang, seconds).split(" ")
        assert int(number) * _UNITS[unit] == seconds
        assert (int(number) == 1) == (unit in ("day", "hour", "minute", "second", "día", "hora",
                                                "minuto", "segundo"))

    says()
