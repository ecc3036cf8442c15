"""The second reader in intake, over real HTTP: a plain-words emergency the rules alone leave
below critical is stored critical, and the sealed decision names the rule set's version and
the reader's; with ``rules.reader = false`` the rules alone decide."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from crypto import open_envelope, unwrap
from hotline.app import make_app
from hotline.client.advocate import AdvocateClient
from hotline.config import load_config
from hotline.services import SERVICES
from tests.conftest import Browser, free_port
from tests.helpers.instance import make_instance

# Said in plain words: no rule names it, the reader was trained on messages like it.
EMERGENCY = "he said hes gonna find me tonight n finish what he started. hes been driving past"


def _rows(root, sql: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(root / "hotline.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@asynccontextmanager
async def _serve(tmp_path, env: dict[str, str]) -> AsyncIterator[tuple]:  # type: ignore[no-untyped-def]
    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    app = make_app(inst.root, env=env)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            yield inst, app, Browser(f"http://127.0.0.1:{port}", session)
    finally:
        await server.close()


@pytest.mark.parametrize("reader_on", [True, False])
async def test_the_reader_raises_what_the_rules_miss_and_the_decision_says_so(
    tmp_path, reader_on: bool  # type: ignore[no-untyped-def]
) -> None:
    env = {} if reader_on else {"HOTLINE_RULES_READER": "false"}
    async with _serve(tmp_path, env) as (inst, app, browser):
        services = app[SERVICES]
        rules_alone = services.rules.current.evaluate(EMERGENCY, spans=False).urgency.value
        assert rules_alone != "critical"  # otherwise this test shows nothing
        status, _ = await browser.report(EMERGENCY)
        assert status == 200
        (tip_id, urgency), = _rows(inst.root, "SELECT id, urgency FROM tips")
        (envelope, version), = _rows(inst.root, "SELECT envelope, ruleset_version FROM messages")
        assert version == services.rules.current.version
        key = await services.keystore.get(tip_id)
        doc = json.loads(open_envelope(unwrap(key, envelope, label=tip_id), inst.alice).body)
        triage = doc["triage"]
        assert triage["ruleset_version"] == services.rules.current.version
        assert triage["rules_urgency"] == rules_alone
        if reader_on:
            assert urgency == "critical" and triage["urgency"] == "critical"
            assert triage["reader"]["version"] == services.rules.reader.version
            assert triage["reader"]["suggests"] == "critical"
            assert triage["reader"]["p_critical"] >= services.rules.reader.critical_threshold
            # An advocate's correction is fed back against the rules' own urgency: the
            # reader's raise is not the rules' doing.
            alice = AdvocateClient(browser.base, inst.alice)
            await asyncio.to_thread(alice.login)
            await asyncio.to_thread(alice.triage, tip_id, "high", None)
            (fed,), = _rows(inst.root, "SELECT rules_urgency FROM rule_feedback")
            assert fed == rules_alone
        else:
            assert services.rules.reader is None
            assert urgency == rules_alone and triage["reader"] is None


def test_the_setting_defaults_on_and_turns_off(tmp_path) -> None:  # type: ignore[no-untyped-def]
    inst = make_instance(tmp_path)
    assert load_config(inst.root, env={})["rules.reader"] is True
    assert load_config(inst.root, env={"HOTLINE_RULES_READER": "off"})["rules.reader"] is False
