"""Fixtures for the Twilio channels: the fake Twilio REST server, and the real
service (aiohttp on 127.0.0.1, real SQLite) configured to use it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hotline.app import make_app
from hotline.client.advocate import AdvocateClient
from hotline.config import load_config
from hotline.ops.listener import make_ops_app
from hotline.services import SERVICES, Services
from tests.conftest import free_port
from tests.helpers import store
from tests.helpers.instance import TestInstance, make_instance
from tests.helpers.twilio_fake import FakeTwilio, incoming_sms_form, signed_post

HOTLINE_NUMBER = "+15005550006"
REPORTER = "+14155550123"


def twilio_env(fake: FakeTwilio, **extra: str) -> dict[str, str]:
    return {
        "HOTLINE_TWILIO_ACCOUNT_SID": fake.account_sid,
        "HOTLINE_TWILIO_AUTH_TOKEN": fake.auth_token,
        "HOTLINE_TWILIO_NUMBER": HOTLINE_NUMBER,
        "HOTLINE_TWILIO_API_BASE": fake.base_url,
        "HOTLINE_TWILIO_TIMEOUT": "2s",
        "HOTLINE_TWILIO_RETRY_BACKOFF": "50ms,100ms,150ms",
        **extra,
    }


@dataclass
class SmsLive:
    instance: TestInstance
    url: str  # where the server listens
    public_url: str  # what Twilio signs
    app: web.Application
    fake: FakeTwilio
    session: aiohttp.ClientSession
    env: dict[str, str]

    @property
    def services(self):  # type: ignore[no-untyped-def]
        return self.app[SERVICES]

    async def metrics(self) -> str:
        """A scrape of /metrics from the ops listener (the public one has no such route)."""
        ops = TestServer(make_ops_app(self.app), host="127.0.0.1", port=free_port())
        await ops.start_server()
        try:
            async with self.session.get(str(ops.make_url("/metrics"))) as r:
                assert r.status == 200
                return await r.text()
        finally:
            await ops.close()

    async def text(self, body: str, *, sender: str = REPORTER, sid: str | None = None,
                   media: list[tuple[str, str]] = (),  # type: ignore[assignment]
                   extra: Mapping[str, str] | None = None, path: str = "/twilio/sms",
                   signature: str | None = None, account_sid: str | None = None,
                   to: str = HOTLINE_NUMBER) -> tuple[int, str]:
        form = incoming_sms_form(account_sid=account_sid or self.fake.account_sid, sender=sender,
                                 body=body, message_sid=sid, media=media, extra=extra, to=to)
        return await signed_post(self.session, server=self.url, path=path,
                                 public_url=self.public_url, auth_token=self.fake.auth_token,
                                 form=form, signature=signature)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return store.query(self.instance.root, sql, params)

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT COUNT(*) FROM {table}")[0][0])  # noqa: S608 - test constant

    async def advocate(self) -> AdvocateClient:
        client = AdvocateClient(self.url, self.instance.alice)
        await asyncio.to_thread(client.login)
        return client

    async def read_only_tip(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        client = await self.advocate()
        inbox = await asyncio.to_thread(client.inbox)
        assert len(inbox) == 1, inbox
        opened = await asyncio.to_thread(client.read, inbox[0]["id"])
        return opened.tip, opened.messages


@asynccontextmanager
async def sms_server(tmp_path: Path, fake: FakeTwilio, *, public_url: str | None = None,
                     instance: TestInstance | None = None,
                     tip_refs: Callable[[], str] | None = None,
                     **env: str) -> AsyncIterator[SmsLive]:
    """The service with Twilio pointed at ``fake``; ``tip_refs`` replaces the tip
    reference generator (a dependency of the intake) when given."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    inst = instance or make_instance(tmp_path, public_url=url)
    full_env = {"HOTLINE_PUBLIC_URL": public_url or url, **twilio_env(fake, **env)}
    services = None
    if tip_refs is not None:
        services = await Services.open(load_config(inst.root, full_env), full_env,
                                       tip_refs=tip_refs)
    app = make_app(inst.root, env=full_env, services=services)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield SmsLive(inst, url, public_url or url, app, fake, session, full_env)
    finally:
        await server.close()


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    fake = await FakeTwilio().start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def sms(tmp_path: Path, fake_twilio: FakeTwilio) -> AsyncIterator[SmsLive]:
    async with sms_server(tmp_path, fake_twilio) as live:
        yield live


async def eventually(check: Callable[[], Any], within: float = 5.0) -> Any:
    """Poll ``check`` until it returns something truthy (background work settles)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def twiml_reply(text: str) -> str | None:
    """The automatic reply in a TwiML answer (None for ``<Response/>``), parsed as XML."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(text)  # noqa: S314 - our server's answer in a test
    assert root.tag == "Response", text
    messages = root.findall("Message")
    assert len(messages) <= 1, text
    return messages[0].text if messages else None
