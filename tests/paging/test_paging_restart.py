"""Durability: a real ``hotline serve`` process killed with SIGKILL mid-escalation
resumes every pending step after a restart, and pages nobody twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from hotline.paging import admin as pa
from tests.conftest import free_port
from tests.helpers.instance import make_instance
from tests.helpers.process import ServerProcess
from tests.helpers.twilio_fake import Failure, FakeTwilio, incoming_sms_form, signed_post
from tests.twilio.conftest import twilio_env

from .helpers import ALICE_PHONE, BOB_PHONE, CRITICAL, query, set_contact, until

pytestmark = pytest.mark.slow


def _to(fake: FakeTwilio, number: str) -> list[dict]:  # type: ignore[type-arg]
    return [m for m in fake.sent if m["To"] == number]


async def test_kill_9_between_levels_resumes_without_duplicates(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = make_instance(tmp_path)
    set_contact(inst.root, "alice", phone=ALICE_PHONE)
    set_contact(inst.root, "bob", phone=BOB_PHONE)
    pa.set_escalation(inst.root, {"levels": [{"targets": ["oncall"]}, {"targets": ["bob"]}],
                                  "delay": "3s"})
    port = free_port()
    env = {**twilio_env(fake_twilio), "HOTLINE_PAGING_RETRY_BACKOFF": "100ms"}
    server = ServerProcess(inst.root, port, env=env).start()
    try:
        form = incoming_sms_form(account_sid=fake_twilio.account_sid, sender="+14155550123",
                                 body=CRITICAL)
        async with aiohttp.ClientSession() as session:
            status, _ = await signed_post(session, server=server.url, path="/twilio/sms",
                                          public_url=server.url, auth_token=fake_twilio.auth_token,
                                          form=form)
        assert status == 200
        await until(lambda: _to(fake_twilio, ALICE_PHONE), what="level 1")
        await until(lambda: query(inst.root, "SELECT status FROM page_outbox") == [("sent",)])
        server.kill9()
        await asyncio.sleep(0.5)
        server = ServerProcess(inst.root, port, env=env).start()
        await until(lambda: _to(fake_twilio, BOB_PHONE), within=15, what="level 2 after restart")
        await asyncio.sleep(0.5)
        assert len(_to(fake_twilio, ALICE_PHONE)) == 1 and len(_to(fake_twilio, BOB_PHONE)) == 1
        assert query(inst.root, "SELECT status FROM escalations") == [("exhausted",)]
    finally:
        server.stop()


async def test_a_page_pending_at_the_crash_is_delivered_after_restart(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = make_instance(tmp_path)
    set_contact(inst.root, "alice", phone=ALICE_PHONE)
    pa.set_notifiers(inst.root, "alice", [("sms", None)])
    # Twilio is down: the first attempt fails and the retry waits 30 s — long enough to crash.
    fake_twilio.fail_sends(Failure(500, 20500))
    port = free_port()
    env = {**twilio_env(fake_twilio), "HOTLINE_PAGING_RETRY_BACKOFF": "2s,30s"}
    server = ServerProcess(inst.root, port, env=env).start()
    try:
        form = incoming_sms_form(account_sid=fake_twilio.account_sid, sender="+14155550123",
                                 body=CRITICAL)
        async with aiohttp.ClientSession() as session:
            await signed_post(session, server=server.url, path="/twilio/sms", public_url=server.url,
                              auth_token=fake_twilio.auth_token, form=form)
        await until(lambda: fake_twilio.calls("POST", "/Messages.json"), what="the failed attempt")
        await until(lambda: query(inst.root, "SELECT attempt FROM page_outbox") == [(1,)])
        server.kill9()
        server = ServerProcess(inst.root, port, env=env).start()
        await until(lambda: _to(fake_twilio, ALICE_PHONE), within=15, what="the page after restart")
        await asyncio.sleep(0.3)
        assert len(_to(fake_twilio, ALICE_PHONE)) == 1
        assert query(inst.root, "SELECT status, attempt FROM page_outbox") == [("sent", 1)]
    finally:
        server.stop()
