"""The advocate inbox in pages (issue 12 §6), over real HTTP.

Tips are stored through the real intake (sealed, committed); the inbox is read
through ``GET /api/tips`` and the ``hotline inbox`` command. A walk across pages
while new tips arrive skips and repeats nothing; filters return exactly the
matching tips; bad paging input gets a 400 that says why.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
from typing import Any

import aiohttp

from hotline.client.advocate import AdvocateClient
from hotline.domain import Channel, Urgency
from hotline.intake import Inbound
from tests.conftest import Live
from tests.helpers.process import run_cli

ORDER = {"critical": 0, "high": 1, "normal": 2, "low": 3}
URGENCIES = [Urgency.CRITICAL, Urgency.HIGH, Urgency.NORMAL, Urgency.LOW]
CHANNELS = [Channel.WEB, Channel.SMS, Channel.VOICE, Channel.WHATSAPP]


async def add_tips(live: Live, n: int, start: int = 0) -> None:
    intake = live.services.intake
    for i in range(start, start + n):
        channel = CHANNELS[i % 4]
        sender = None if channel is Channel.WEB else f"+1415556{i:04d}"
        await intake.submit(Inbound(channel=channel, text=f"tip {i}", sender=sender,
                                    urgency_floor=URGENCIES[(i // 4 + i) % 4]))


def db_tips(live: Live, where: str = "1", params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(live.instance.root / "hotline.db")
    try:
        return conn.execute(f"SELECT id, urgency, created_at FROM tips WHERE {where}",  # noqa: S608
                            params).fetchall()
    finally:
        conn.close()


def sort_key(tip: dict[str, Any]) -> tuple[int, str, str]:
    return ORDER[tip["urgency"]], tip["created_at"], tip["id"]


async def login(live: Live, who: str = "alice") -> AdvocateClient:
    client = AdvocateClient(live.url, getattr(live.instance, who))
    await asyncio.to_thread(client.login)
    return client


async def page(client: AdvocateClient, **kw: Any) -> tuple[list[dict[str, Any]], str | None]:
    return await asyncio.to_thread(lambda: client.inbox_page(**kw))


async def test_a_walk_while_tips_arrive_skips_and_repeats_nothing(live: Live) -> None:
    await add_tips(live, 60)
    before = {r[0] for r in db_tips(live)}
    client = await login(live)
    seen: list[dict[str, Any]] = []
    tips, after = await page(client, limit=7)
    seen += tips
    arrived = itertools.count(1000)
    while after is not None:
        # new reporters between every two pages, at every urgency: some sort above the
        # cursor (seen on the next first page), some below (seen later in this walk)
        await add_tips(live, 2, start=next(arrived) * 2)
        tips, after = await page(client, limit=7, after=after)
        assert len(tips) <= 7
        seen += tips
    ids = [t["id"] for t in seen]
    assert len(ids) == len(set(ids)), "a tip was shown twice"
    assert before <= set(ids), "a tip that was there all along was skipped"
    assert seen == sorted(seen, key=sort_key)
    assert {t["id"] for t in seen} - before  # some of the new tips came in this walk
    everything = await asyncio.to_thread(client.inbox)
    assert {t["id"] for t in everything} == {r[0] for r in db_tips(live)}
    assert everything == sorted(everything, key=sort_key)


async def test_filters_return_exactly_the_matching_tips(live: Live) -> None:
    await add_tips(live, 40)
    client = await login(live)
    first = await asyncio.to_thread(client.inbox)
    for tip in first[:5]:
        await asyncio.to_thread(client.triage, tip["id"], None, "closed")
    cases: list[tuple[dict[str, Any], str, tuple[Any, ...]]] = [
        ({"status": ["closed"]}, "status = 'closed'", ()),
        ({"status": ["new", "in_progress"]}, "status IN ('new', 'in_progress')", ()),
        ({"urgency": ["critical"]}, "urgency = 'critical'", ()),
        ({"urgency": ["critical", "high"], "channel": ["sms"]},
         "urgency IN ('critical', 'high') AND channel = 'sms'", ()),
        ({"channel": ["voice", "whatsapp"], "status": ["new"]},
         "channel IN ('voice', 'whatsapp') AND status = 'new'", ()),
        ({"ref": first[7]["ref"]}, "ref = ?", (first[7]["ref"],)),
    ]
    for filters, where, params in cases:
        got: list[dict[str, Any]] = []
        tips, after = await page(client, limit=3, **filters)
        got += tips
        while after is not None:
            tips, after = await page(client, limit=3, after=after, **filters)
            got += tips
        expected = {r[0] for r in db_tips(live, where, params)}
        assert expected, filters
        assert [t["id"] for t in got] == [t["id"] for t in sorted(got, key=sort_key)]
        assert {t["id"] for t in got} == expected, filters
    bob = await login(live, "bob")  # sealed to alice (on call) only: bob sees none of them
    assert await asyncio.to_thread(bob.inbox) == []


async def test_bad_paging_input_is_a_400_that_says_why(live: Live) -> None:
    await add_tips(live, 3)
    client = await login(live)
    headers = {"Authorization": f"Bearer {client.http.token}"}
    cases = {
        "limit=0": "'limit' must be a whole number from 1 to 200",
        "limit=201": "'limit' must be a whole number from 1 to 200",
        "limit=ten": "'limit' must be a whole number from 1 to 200",
        "after=bm90LWEtY3Vyc29y": "'after' is not a cursor this server gave out",
        "after=%FF%FE": "'after' is not a cursor this server gave out",
        "status=open": "'status' must be one or more of new, acknowledged, in_progress, closed",
        "urgency=urgent": "'urgency' must be one or more of low, normal, high, critical",
        "channel=fax": "'channel' must be one or more of web, sms, voice, whatsapp",
        "ref=%27%3B--": "'ref' is a short reference such as K7D-93M",
    }
    async with aiohttp.ClientSession() as session:
        for query, reason in cases.items():
            async with session.get(f"{live.url}/api/tips?{query}", headers=headers) as r:
                assert r.status == 400, query
                assert reason in (await r.json())["error"], query
        async with session.get(f"{live.url}/api/tips?limit=2", headers=headers) as r:
            body = await r.json()
            assert len(body["tips"]) == 2 and isinstance(body["next"], str)


async def test_hotline_inbox_pages_filters_and_keeps_its_json_contract(live: Live) -> None:
    await add_tips(live, 55)
    key = str(live.instance.key_file("alice"))

    def cli(*args: str, check: bool = True):  # type: ignore[no-untyped-def]
        return run_cli("inbox", "--server", live.url, "--key", key, *args, check=check)

    first = await asyncio.to_thread(cli, "--json")
    tips = json.loads(first.stdout)
    assert isinstance(tips, list) and len(tips) == 50
    assert all({"id", "channel", "urgency", "status", "created_at"} <= set(t) for t in tips)
    assert "More tips: hotline inbox --after " in first.stderr
    cursor = first.stderr.split("--after ")[1].split()[0]
    rest = json.loads((await asyncio.to_thread(cli, "--json", "--after", cursor)).stdout)
    assert len(rest) == 5 and not {t["id"] for t in rest} & {t["id"] for t in tips}
    every = json.loads((await asyncio.to_thread(cli, "--json", "--all")).stdout)
    assert [t["id"] for t in every] == [t["id"] for t in tips + rest]
    critical_sms = json.loads((await asyncio.to_thread(
        cli, "--json", "--all", "--urgency", "critical", "--channel", "sms")).stdout)
    assert {t["id"] for t in critical_sms} == {
        r[0] for r in db_tips(live, "urgency = 'critical' AND channel = 'sms'")}
    table = await asyncio.to_thread(cli, "--limit", "3", "--status", "new")
    assert table.stdout.count("\n") == 4 and "More tips" in table.stderr
    bad = await asyncio.to_thread(cli, "--limit", "500", check=False)
    assert bad.returncode == 2 and "from 1 to 200" in bad.stderr and "Traceback" not in bad.stderr
    bad = await asyncio.to_thread(cli, "--status", "open", check=False)
    assert bad.returncode == 2 and "status must be one or more of" in bad.stderr
