"""The webhook and e-mail notifiers against real local peers: an aiohttp receiver
that checks the HMAC, and aiosmtpd as the mail server."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from email import message_from_bytes
from pathlib import Path

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from hotline.paging import admin as pa
from tests.conftest import free_port
from tests.helpers.instance import make_instance
from tests.helpers.twilio_fake import FakeTwilio
from tests.twilio.conftest import sms_server

from .helpers import ALICE_PHONE, CANARY, CRITICAL, query, set_contact, until

pytestmark = pytest.mark.both_stores

SECRET = "webhook-secret-for-tests"


class Receiver:
    """A bridge (Slack/Matrix/ntfy) stand-in: answers with scripted statuses, keeps what came."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses, self.received = statuses, []  # type: ignore[var-annotated]

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


async def _receiver(statuses: list[int]) -> tuple[Receiver, web.AppRunner, str]:
    r = Receiver(statuses)
    app = web.Application()
    app.router.add_post("/hook", r.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return r, runner, f"http://127.0.0.1:{port}/hook"


async def test_webhook_page_is_signed_over_the_body_and_carries_no_content(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    receiver, runner, url = await _receiver([503])  # one failure, then accepted
    try:
        inst = make_instance(tmp_path)
        pa.set_notifiers(inst.root, "alice", [("webhook", url)])
        async with sms_server(tmp_path, fake_twilio, instance=inst,
                              HOTLINE_PAGING_WEBHOOK_SECRET=SECRET,
                              HOTLINE_PAGING_RETRY_BACKOFF="50ms") as live:
            await live.text(f"{CRITICAL} {CANARY}")
            await until(lambda: len(receiver.received) == 2, what="retried webhook")
            first, second = receiver.received
            assert first[1] == second[1]  # the retry is the same page
            assert first[0]["Idempotency-Key"] == second[0]["Idempotency-Key"]
            headers, body = second
            mac = hmac.new(SECRET.encode(), headers["X-Hotline-Timestamp"].encode() + b"." + body,
                           hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers["X-Hotline-Signature"], "sha256=" + mac)
            page = json.loads(body)
            ref = query(inst.root, "SELECT ref FROM tips")[0][0]
            assert page["tip_ref"] == ref and page["urgency"] == "critical" and page["channel"] == "sms"
            assert CANARY.encode() not in body and b"hurting" not in body and b"+1415" not in body
            await until(lambda: query(inst.root, "SELECT status FROM page_outbox") == [("sent",)])
            assert live
    finally:
        await runner.cleanup()


async def test_without_a_secret_the_webhook_is_skipped_for_the_next_notifier(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    receiver, runner, url = await _receiver([])
    try:
        inst = make_instance(tmp_path)
        set_contact(inst.root, "alice", phone=ALICE_PHONE)
        pa.set_notifiers(inst.root, "alice", [("webhook", url), ("sms", None)])
        async with sms_server(tmp_path, fake_twilio, instance=inst) as live:
            await live.text(CRITICAL)
            await until(lambda: [m for m in fake_twilio.sent if m["To"] == ALICE_PHONE])
            assert receiver.received == []
            await until(lambda: query(inst.root, "SELECT sent_via FROM page_outbox") == [("sms",)])
    finally:
        await runner.cleanup()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


async def test_email_page_through_a_real_smtp_server(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        inst = make_instance(tmp_path)
        set_contact(inst.root, "alice", email="alice@example.org")
        pa.set_notifiers(inst.root, "alice", [("email", None)])
        async with sms_server(tmp_path, fake_twilio, instance=inst,
                              HOTLINE_PAGING_SMTP_HOST="127.0.0.1",
                              HOTLINE_PAGING_SMTP_PORT=str(port),
                              HOTLINE_PAGING_SMTP_STARTTLS="false",
                              HOTLINE_PAGING_SMTP_FROM="pager@hotline.example") as live:
            await live.text(f"{CRITICAL} {CANARY}")
            await until(lambda: inbox.messages, what="the e-mail")
            sender, rcpts, raw = inbox.messages[0]
            assert sender == "pager@hotline.example" and rcpts == ["alice@example.org"]
            mail = message_from_bytes(raw)
            ref = query(inst.root, "SELECT ref FROM tips")[0][0]
            assert ref in mail["Subject"] and "critical" in mail["Subject"]
            assert CANARY.encode() not in raw and b"hurting" not in raw
            await until(lambda: query(inst.root, "SELECT sent_via FROM page_outbox") == [("email",)])
            assert live
    finally:
        controller.stop()
        await asyncio.sleep(0)
