"""A reload, a double click or a replayed post never sends anything twice.

Real HTTP against the real app and SQLite file; the form is posted back the
way a browser posts it (same token, same cookie). Each outcome is checked as
the reporter reads it: plain words, in their language.
"""

from __future__ import annotations

import asyncio
import sqlite3

import aiohttp
from aiohttp.test_utils import TestServer
from yarl import URL

from hotline import csrf
from hotline.app import make_app
from hotline.ops.shred import Deletion, shred
from hotline.server_secret import ServerSecret
from tests.conftest import Browser, Live, free_port
from tests.helpers.html import Form, form_by_action, receipt_words


def _count(live: Live, sql: str = "SELECT COUNT(*) FROM messages") -> int:
    conn = sqlite3.connect(live.instance.root / "hotline.db")
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


async def _report_form(browser: Browser, lang: str = "en") -> Form:
    _, html = await browser.get(f"/?lang={lang}")
    return form_by_action(html, "/report")


async def test_the_same_report_form_sent_twice_is_one_tip_with_one_receipt(
        live: Live, browser: Browser) -> None:
    form = await _report_form(browser)
    status, first = await browser.submit(form, {"message": "They keep our passports"})
    assert status == 200
    words = receipt_words(first)
    assert len(words) == 12 and "already sent" not in first
    # the browser's "resend" after a reload, or the back button and send again
    status, second = await browser.submit(form, {"message": "They keep our passports"})
    assert status == 200
    assert receipt_words(second) == words  # the same receipt, not a new tip
    assert "You had already sent this message. We did not send it twice." in second
    assert _count(live, "SELECT COUNT(*) FROM tips") == 1 and _count(live) == 1


async def test_a_double_click_races_into_one_tip(live: Live, browser: Browser) -> None:
    form = await _report_form(browser, "es")
    pages = await asyncio.gather(*(browser.submit(form, {"message": "Nos quitaron los papeles"})
                                   for _ in range(4)))
    assert _count(live, "SELECT COUNT(*) FROM tips") == 1 and _count(live) == 1
    receipts = {tuple(receipt_words(html)) for _, html in pages}
    assert len(receipts) == 1 and len(next(iter(receipts))) == 12
    assert sum("No lo enviamos dos veces" in html for _, html in pages) == 3


async def test_reloading_the_receipt_page_shows_no_receipt_and_sends_nothing(
        live: Live, browser: Browser) -> None:
    _, first = await browser.report("Please help", lang="es")
    assert len(receipt_words(first)) == 12
    status, again = await browser.get("/receipt?lang=es")  # F5 on the receipt page
    assert status == 200 and receipt_words(again) == []
    assert "Tu comprobante se muestra una sola vez" in again
    assert _count(live) == 1


async def test_a_copied_receipt_cookie_cannot_be_replayed(live: Live, browser: Browser) -> None:
    form = await _report_form(browser)
    data = aiohttp.FormData({**form.fields, "message": "first"})
    async with browser.session.post(live.url + "/report", data=data, allow_redirects=False) as r:
        assert r.status == 303 and r.headers["Location"] == "/receipt?lang=en"
        assert "first" not in r.headers["Location"]
        cookie = r.cookies["hl_receipt"].value
    assert cookie and "first" not in cookie
    _, shown = await browser.get("/receipt")
    assert len(receipt_words(shown)) == 12
    async with aiohttp.ClientSession() as abuser:  # the cookie file copied off the phone
        async with abuser.get(live.url + "/receipt", cookies={"hl_receipt": cookie}) as r:
            assert receipt_words(await r.text()) == []


async def test_past_the_window_a_resubmission_is_told_it_was_already_sent(
        live: Live, browser: Browser) -> None:
    form = await _report_form(browser)
    await browser.submit(form, {"message": "first"})
    conn = sqlite3.connect(live.instance.root / "hotline.db")
    with conn:
        conn.execute("UPDATE used_once SET box_until = 0")  # the 10 minutes have passed
    conn.close()
    status, html = await browser.submit(form, {"message": "first"})
    assert status == 200 and receipt_words(html) == []
    assert "This message was already sent" in html and "We did not send it twice" in html
    assert _count(live) == 1


async def test_a_form_replayed_after_its_tip_was_shredded_stores_nothing(
        live: Live, browser: Browser) -> None:
    """The used set is checked in the message's own write, not read before it: with the
    message gone (shredded), only the used set still knows the token, and it must refuse."""
    form = await _report_form(browser)
    await browser.submit(form, {"message": "first"})
    s = live.services
    (tip_id,) = [r[0] for r in await s.db.fetchall("SELECT id FROM tips")]
    assert await shred(s.db, s.keystore, [Deletion(tip_id, "admin")], actor="test") == 1
    assert _count(live, "SELECT COUNT(*) FROM tips") == 0
    status, html = await browser.submit(form, {"message": "first"})
    assert status == 200 and "already sent" in html
    assert _count(live, "SELECT COUNT(*) FROM tips") == 0 and _count(live) == 0


async def test_a_followup_message_sent_twice_is_added_once(live: Live, browser: Browser) -> None:
    _, receipt = await browser.report("first")
    _, page = await browser.get("/followup")
    _, thread = await browser.submit(form_by_action(page, "/followup"),
                                     {"receipt": " ".join(receipt_words(receipt))})
    add = form_by_action(thread, "/followup/add")
    results = await asyncio.gather(*(browser.submit(add, {"message": "They moved us"})
                                     for _ in range(3)))
    assert _count(live) == 2
    notices = sorted("Your message was added." in html for _, html in results)
    assert notices == [False, False, True]
    assert all("This message was already sent. We did not send it twice." in html
               for _, html in results if "Your message was added." not in html)
    # the thread page itself reloads as a GET and adds nothing
    status, _ = await browser.get("/followup/thread?n=added")
    assert status == 200 and _count(live) == 2


async def test_the_used_set_survives_a_restart(live: Live, browser: Browser) -> None:
    form = await _report_form(browser)
    await browser.submit(form, {"message": "before the restart"})
    port = free_port()
    other = TestServer(make_app(live.instance.root, env={}), host="127.0.0.1", port=port)
    await other.start_server()  # a second front end on the same database
    try:
        jar = aiohttp.CookieJar(unsafe=True)
        jar.update_cookies({csrf.COOKIE: browser.session.cookie_jar.filter_cookies(
            URL(live.url))[csrf.COOKIE].value})
        async with aiohttp.ClientSession(cookie_jar=jar) as s:
            status, html = await Browser(f"http://127.0.0.1:{port}", s).submit(
                form, {"message": "before the restart"})
        assert status == 200 and "already sent" in html
    finally:
        await other.close()
    assert _count(live) == 1


def test_a_token_younger_than_the_minimum_age_is_held_for_the_rest() -> None:
    secret = ServerSecret(1, {1: bytes(range(32))})
    token = csrf.check(secret, "c", csrf.issue(secret, "c", now=1000), 3600, now=1000.5)
    assert isinstance(token, csrf.FormToken)
    assert token.wait(2.0, now=1000.5) == 1.5
    assert token.wait(2.0, now=1002.0) == 0.0
    assert token.wait(0.0, now=1000.0) == 0.0
    again = csrf.check(secret, "c", token.text, 3600, now=1001)
    assert isinstance(again, csrf.FormToken) and again.used_key(secret) == token.used_key(secret)
    other = csrf.check(secret, "c", csrf.issue(secret, "c", now=1000), 3600, now=1001)
    assert isinstance(other, csrf.FormToken) and other.used_key(secret) != token.used_key(secret)


async def test_a_post_younger_than_the_minimum_age_is_held_then_accepted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A script that posts at once is not refused (nothing typed is lost): the server waits.

    The token is made a second younger than now, so the post is too early
    however slowly this machine runs the test.
    """
    import time

    from hotline.services import SERVICES
    from tests.helpers.instance import make_instance
    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    app = make_app(inst.root, env={"HOTLINE_WEB_FORM_MIN_AGE": "1s"})
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            browser = Browser(f"http://127.0.0.1:{port}", s)
            _, html = await browser.get("/")
            cookie = s.cookie_jar.filter_cookies(URL(browser.base))[csrf.COOKIE].value
            young = csrf.issue(app[SERVICES].secret, cookie, now=time.time() + 1)
            status, html = await browser.submit(form_by_action(html, "/report"),
                                                {"message": "right away", "csrf_token": young})
    finally:
        await server.close()
    assert status == 200 and len(receipt_words(html)) == 12
    log = (inst.root / "logs" / "hotline.log").read_text(encoding="utf-8")
    assert '"event": "form.too_early"' in log and "right away" not in log
