"""A rule reload on one front end reaches every front end on the same database (issue 14).

Two applications over one instance folder (two stores on one database,
SQLite or PostgreSQL: the stand-in for two processes), each serving real HTTP. A reload is
asked of the first, as SIGHUP asks it; the second follows, and its next
decision names the new version.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline.app import make_app
from hotline.config import load_config
from hotline.services import SERVICES
from tests.conftest import Browser, free_port
from tests.helpers import store
from tests.helpers.instance import make_instance
from triage_rules import load_rules

LOCAL_RULE = """
[[rule]]
id = "local.lantern"
phrases = ["blue lantern"]
urgency = "critical"
[rule.examples]
match = ["the blue lantern house"]
no_match = ["a red lantern"]
"""
ENV = {"HOTLINE_CLUSTER_RULES_POLL": "100ms"}
pytestmark = pytest.mark.both_stores


@pytest.fixture
async def two_front_ends(tmp_path: Path) -> AsyncIterator[tuple[Path, list[TestServer]]]:
    inst = make_instance(tmp_path)
    servers = []
    try:
        for _ in range(2):
            server = TestServer(make_app(inst.root, env=ENV), host="127.0.0.1", port=free_port())
            await server.start_server()
            servers.append(server)
        yield inst.root, servers
    finally:
        for server in servers:
            await server.close()


async def _version(session: aiohttp.ClientSession, server: TestServer) -> str:
    async with session.get(str(server.make_url("/healthz"))) as r:
        return str((await r.json())["rules"])


async def _until_version(session: aiohttp.ClientSession, server: TestServer, version: str) -> None:
    """Wait until ``server`` runs ``version`` (it looks every 100 ms)."""
    for _ in range(400):
        if await _version(session, server) == version:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the reload to {version} never reached front end {server.port}")


async def _report(server: TestServer, text: str) -> str:
    """Send a web report to ``server``; the rule-set version its stored message names."""
    root = server.app[SERVICES].paths.root
    before = set(store.query(root, "SELECT id FROM messages"))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        status, _ = await Browser(str(server.make_url("")).rstrip("/"), s).report(text)
    assert status == 200
    [(version,)] = [(v,) for i, v in store.query(root, "SELECT id, ruleset_version FROM messages")
                    if (i,) not in before]
    return str(version)


async def test_a_reload_on_one_front_end_reaches_the_other(two_front_ends) -> None:  # type: ignore[no-untyped-def]
    root, (a, b) = two_front_ends
    paths = load_config(root).rule_paths()
    before = load_rules(paths).version
    assert await _report(b, "the blue lantern, he took my passport") == before
    (root / "rules" / "local.toml").write_text(LOCAL_RULE)
    after = load_rules(paths).version
    assert after != before

    fresh = await a.app[SERVICES].rules.reload_in_background()  # what SIGHUP runs on a
    assert fresh is not None and fresh.version == after
    async with aiohttp.ClientSession() as session:
        assert await _version(session, a) == after
        await _until_version(session, b, after)
    assert await _report(b, "the blue lantern, he took my passport") == after
    log = (root / "logs" / "hotline.log").read_text()
    assert "rules.announced" in log and "rules.followed" in log

    # Back again: going back to an earlier version is news too.
    (root / "rules" / "local.toml").unlink()
    await a.app[SERVICES].rules.reload_in_background()
    async with aiohttp.ClientSession() as session:
        await _until_version(session, b, before)
    assert await _report(b, "the blue lantern, he took my passport") == before


async def test_a_follower_whose_files_differ_keeps_its_rules_and_says_so(two_front_ends) -> None:  # type: ignore[no-untyped-def]
    root, (_, b) = two_front_ends
    mine = b.app[SERVICES].rules.current.version
    # Another front end announces a version these files cannot produce.
    await b.app[SERVICES].db.write(lambda conn: conn.execute(
        "INSERT INTO meta (key, value) VALUES ('rules_live', ?) ON CONFLICT (key) DO UPDATE"
        " SET value = excluded.value", ('{"version": "rs-0000000000000000", "token": "x"}',)))
    sync = b.app[SERVICES].rules_sync
    assert sync is not None
    await sync.check()
    assert b.app[SERVICES].rules.current.version == mine
    assert await sync.check() is None  # and it does not reload again and again
    assert "rules.follow_mismatch" in (root / "logs" / "hotline.log").read_text()
