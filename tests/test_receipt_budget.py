"""The follow-up page's receipt budget: reserved before the lookup, never a lock-out.

See hotline/ratelimit.py and docs/threat-model.md ("Flood")."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from hotline import receipts
from tests.conftest import Browser, Live
from tests.helpers.html import form_by_action, receipt_words


async def _guesser(live: Live) -> tuple[aiohttp.ClientSession, Browser]:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    return session, Browser(live.url, session)


def _wrong() -> str:
    return " ".join(receipts.new_receipt("en")[0])  # well formed, valid checksum, no such tip


async def test_a_parallel_burst_records_exactly_the_budget(live: Live, browser: Browser) -> None:
    limit = live.services.receipt_limit
    limit._limit = 5
    _, page = await browser.get("/followup")
    form = form_by_action(page, "/followup")
    results = await asyncio.gather(*(browser.submit(form, {"receipt": _wrong()}) for _ in range(30)))
    assert {status for status, _ in results} <= {404, 429}
    assert limit._failures == 5  # no overshoot: every slot was reserved before the lookup


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
        assert limit.exhausted()
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


async def test_the_budget_rolls_each_minute_and_the_lane_is_paced() -> None:
    from hotline.ratelimit import GlobalFailureLimit, Strained

    now = [120.0]
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    limit = GlobalFailureLimit(2, clock=lambda: now[0], interval=0.5, max_wait=1.0, sleep=sleep)
    assert await limit.admit() and await limit.admit()  # two budget slots
    limit.refund()  # one of them found its tip
    assert await limit.admit()
    assert limit.failures == 2 and limit.exhausted()
    assert [await limit.admit() for _ in range(3)] == [False, False, False]  # the lane
    assert waits == [0.5, 1.0]  # the first lane slot is free now, then one per interval
    try:
        await limit.admit()
        raise AssertionError("a lane queued past max_wait must refuse")
    except Strained:
        pass
    now[0] = 180.0  # a new minute: a fresh budget
    assert await limit.admit() and limit.failures == 1
