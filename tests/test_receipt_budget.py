"""The follow-up page's receipt budget: reserved before the lookup, never a lock-out.

See hotline/ratelimit.py and docs/threat-model.md ("Flood")."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline import receipts
from hotline.app import SERVICES, make_app
from tests.conftest import Browser, Live, free_port
from tests.helpers.budget_clock import pin_budget_minute
from tests.helpers.html import form_by_action, receipt_words
from tests.helpers.instance import make_instance
from tests.ops.helpers import opened


async def _guesser(live: Live) -> tuple[aiohttp.ClientSession, Browser]:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    return session, Browser(live.url, session)


def _wrong() -> str:
    return " ".join(receipts.new_receipt("en")[0])  # well formed, valid checksum, no such tip


async def test_a_parallel_burst_records_exactly_the_budget(live: Live, browser: Browser) -> None:
    limit = live.services.receipt_limit
    limit._limit = 5
    pin_budget_minute(live.services)
    _, page = await browser.get("/followup")
    form = form_by_action(page, "/followup")
    results = await asyncio.gather(*(browser.submit(form, {"receipt": _wrong()}) for _ in range(30)))
    assert {status for status, _ in results} <= {404, 429}
    assert await limit.failures() == 5  # no overshoot: every slot was reserved before the lookup


async def test_a_valid_receipt_opens_while_a_wrong_receipt_stream_runs(
        live: Live, browser: Browser) -> None:
    limit = live.services.receipt_limit
    limit._limit = 3
    _, html = await browser.report("my report")
    words = receipt_words(html)
    session, guesser = await _guesser(live)
    stop = asyncio.Event()
    guesses: list[int] = []
    spent = asyncio.Event()

    async def stream() -> None:  # five wrong receipts a second, for as long as the test runs
        _, page = await guesser.get("/followup")
        form = form_by_action(page, "/followup")
        while not stop.is_set():
            guesses.append((await guesser.submit(form, {"receipt": _wrong()}))[0])
            if len(guesses) >= 6:  # the minute's budget is spent by now
                spent.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)

    task = asyncio.create_task(stream())
    try:
        await spent.wait()
        assert await limit.exhausted()
        _, page = await browser.get("/followup")
        status, thread = await browser.submit(form_by_action(page, "/followup"),
                                              {"receipt": " ".join(words)})
        assert status == 200 and "form" in thread  # the conversation, not "too many tries"
        status, _ = await browser.get("/followup/thread")  # the cookie needs no budget
        assert status == 200
    finally:
        stop.set()
        await task
        await session.close()
    assert set(guesses) == {404}  # the stream is slowed, never answered with a lock-out


async def test_the_budget_rolls_each_minute_and_the_lane_is_paced(tmp_path: Path) -> None:
    from hotline.ratelimit import GlobalFailureLimit, Strained

    now, lane_now = [120.0], [5.0]
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    inst = make_instance(tmp_path)
    async with opened(inst.root) as s:
        limit = GlobalFailureLimit(2, s.db, clock=lambda: now[0], lane_clock=lambda: lane_now[0],
                                   interval=0.5, max_wait=1.0, sleep=sleep)
        first = await limit.admit()
        assert first == 120 and await limit.admit() == 120  # two budget slots of minute 120
        await limit.refund(first)  # one of them found its tip
        assert await limit.admit() == 120
        assert await limit.failures() == 2 and await limit.exhausted()
        assert [await limit.admit() for _ in range(3)] == [None, None, None]  # the lane
        assert waits == [0.5, 1.0]  # the first lane slot is free now, then one per interval
        with pytest.raises(Strained):  # a lane queued past max_wait refuses
            await limit.admit()
        now[0] = 180.0  # a new minute: a fresh budget
        assert await limit.admit() == 180 and await limit.failures() == 1


@pytest.mark.both_stores  # the budget lives in the database: both engines must count it once
async def test_every_front_end_spends_one_budget(live: Live, browser: Browser) -> None:
    """Two front ends on one database (two ``--workers``, or two machines on PostgreSQL):
    a burst of wrong receipts spread across both records the budget once, not twice."""
    live.services.receipt_limit._limit = 4
    port = free_port()
    other_app = make_app(live.instance.root, env={})
    other = TestServer(other_app, host="127.0.0.1", port=port)
    await other.start_server()  # a second front end on the same database
    try:
        other_app[SERVICES].receipt_limit._limit = 4
        pin_budget_minute(live.services, other_app[SERVICES])
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            second = Browser(f"http://127.0.0.1:{port}", session)
            forms = []
            for b in (browser, second):
                _, page = await b.get("/followup")
                forms.append((b, form_by_action(page, "/followup")))
            results = await asyncio.gather(*(b.submit(f, {"receipt": _wrong()})
                                             for b, f in forms * 10))
        assert {status for status, _ in results} <= {404, 429}
        assert await live.services.receipt_limit.failures() == 4
        assert await other_app[SERVICES].receipt_limit.failures() == 4
    finally:
        await other.close()
