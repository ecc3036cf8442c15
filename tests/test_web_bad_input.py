"""Hostile and broken input to the web channel: a clear 4xx, nothing stored,
nothing already accepted lost."""

from __future__ import annotations

import sqlite3

import aiohttp

from tests.conftest import Browser, Live
from tests.helpers.budget_clock import pin_budget_minute
from tests.helpers.html import form_by_action, receipt_words


def _count(live: Live, table: str = "messages") -> int:
    conn = sqlite3.connect(live.instance.root / "hotline.db")
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608
    finally:
        conn.close()


async def _form(browser: Browser):  # type: ignore[no-untyped-def]
    _, html = await browser.get("/")
    return form_by_action(html, "/report")


async def test_missing_or_forged_csrf_is_refused(live: Live, browser: Browser) -> None:
    await browser.report("an accepted report")  # accepted before the attacks
    form = await _form(browser)
    status, html = await browser.submit(form, {"message": "x", "csrf_token": ""})
    assert status == 403 and "expired" in html
    status, _ = await browser.submit(form, {"message": "x", "csrf_token": "123.abc"})
    assert status == 403
    # a token without the cookie it is bound to (another browser)
    async with aiohttp.ClientSession() as fresh:
        data = aiohttp.FormData({**form.fields, "message": "x"})
        async with fresh.post(live.url + "/report", data=data) as r:
            assert r.status == 403
    # a cross-site post announced by the browser
    data = aiohttp.FormData({**form.fields, "message": "x"})
    async with browser.session.post(live.url + "/report", data=data,
                                    headers={"Sec-Fetch-Site": "cross-site"}) as r:
        assert r.status == 403
    assert _count(live) == 1


async def test_expired_form_is_refused(live: Live, browser: Browser) -> None:
    form = await _form(browser)
    issued, _, mac = form.fields["csrf_token"].partition(".")
    stale = f"{int(issued) - 3 * 3600}.{mac}"
    status, _ = await browser.submit(form, {"message": "x", "csrf_token": stale})
    assert status == 403


async def test_empty_and_whitespace_messages(live: Live, browser: Browser) -> None:
    form = await _form(browser)
    for text in ("", "   \n\t  "):
        status, html = await browser.submit(form, {"message": text})
        assert status == 400
        assert "write a message" in html
        form = await _form(browser)
    assert _count(live) == 0


async def test_a_browser_gets_its_problem_by_redirect_never_its_text_back(
        live: Live, browser: Browser) -> None:
    """Answered with a page, a post's body would stay in Chromium's Sessions/ files."""
    form = await _form(browser)
    too_long = "secret words " * (live.services.config["web.max_message_chars"] // 10)
    data = aiohttp.FormData({**form.fields, "message": too_long})
    async with browser.session.post(live.url + "/report", data=data, allow_redirects=False,
                                    headers={"Sec-Fetch-Mode": "navigate"}) as r:
        assert r.status == 303
        assert r.headers["Location"] == "/?lang=en&problem=too-long"
    status, html = await browser.get("/?lang=en&problem=too-long")
    assert status == 200
    assert "Your message is too long" in html and "we did not keep what you typed" in html
    assert "secret words" not in html
    for problem in ("empty", "expired", "nonsense"):
        _, html = await browser.get(f"/?problem={problem}")
        assert "secret" not in html
    assert _count(live) == 0


async def test_oversized_attachment_and_too_many(live: Live, browser: Browser) -> None:
    limit = live.services.config["web.max_attachment_size"]
    form = await _form(browser)
    status, html = await browser.submit(form, {"message": "x"},
                                        [("big.bin", b"\0" * (limit + 1), "application/octet-stream")])
    assert status == 413 and "too large" in html
    form = await _form(browser)
    many = [(f"{i}.txt", b"hi", "text/plain") for i in range(live.services.config["web.max_attachments"] + 1)]
    status, _ = await browser.submit(form, {"message": "x"}, many)
    assert status == 413
    assert _count(live) == 0


async def test_overlong_message(live: Live, browser: Browser) -> None:
    form = await _form(browser)
    too_long = "a" * (live.services.config["web.max_message_chars"] + 1)
    status, _ = await browser.submit(form, {"message": too_long})
    assert status == 413
    assert _count(live) == 0


async def test_wrong_content_type(live: Live, browser: Browser) -> None:
    async with browser.session.post(live.url + "/report", json={"message": "x"}) as r:
        assert r.status == 415
    assert _count(live) == 0


async def test_invalid_utf8(live: Live, browser: Browser) -> None:
    form = await _form(browser)
    boundary = "XyZ"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in form.fields.items()
    ) + (f'--{boundary}\r\nContent-Disposition: form-data; name="message"\r\n\r\n'.encode()
         + b"\xff\xfe bad \xc3\x28\r\n" + f"--{boundary}--\r\n".encode())
    async with browser.session.post(
        live.url + "/report", data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}) as r:
        assert r.status == 400
        assert "UTF-8" in await r.text()  # the catalogued reason
    assert _count(live) == 0


async def test_invalid_utf8_urlencoded_is_refused_not_replaced(live: Live, browser: Browser) -> None:
    """aiohttp's urlencoded reader turns invalid UTF-8 into U+FFFD: the report was stored
    altered. Now it is a 400 with the reason, and nothing is stored."""
    from urllib.parse import quote

    form = await _form(browser)
    fields = "&".join(f"{quote(k)}={quote(v)}" for k, v in form.fields.items())
    for bad in ("%FF%FE%20bad", "caf%C3", "%C3%28"):
        async with browser.session.post(
                live.url + "/report", data=f"{fields}&message={bad}".encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"}) as r:
            assert r.status == 400, bad
            assert "UTF-8" in await r.text()
    assert _count(live) == 0
    assert _count(live, "tips") == 0


async def test_malformed_multipart(live: Live, browser: Browser) -> None:
    async with browser.session.post(
        live.url + "/report", data=b"garbage without boundaries",
        headers={"Content-Type": "multipart/form-data; boundary=nope"}) as r:
        assert 400 <= r.status < 500


async def test_unknown_and_malformed_receipts_look_the_same(live: Live, browser: Browser) -> None:
    _, html = await browser.report("first report")
    good = receipt_words(html)
    _, page = await browser.get("/followup")
    form = form_by_action(page, "/followup")
    # a well-formed receipt (valid checksum) that does not exist
    from hotline import receipts
    unknown = " ".join(receipts.new_receipt("en")[0])
    status_a, a = await browser.submit(form, {"receipt": unknown})
    status_b, b = await browser.submit(form, {"receipt": "not a receipt at all"})
    status_c, c = await browser.submit(form, {"receipt": " ".join(good[::-1])})
    assert status_a == status_b == status_c == 404

    def strip(html: str) -> str:
        return "\n".join(ln for ln in html.splitlines() if "csrf_token" not in ln)
    assert strip(a) == strip(b) == strip(c)
    status, _ = await browser.submit(form, {"receipt": " ".join(good)})
    assert status == 200


async def test_receipt_guessing_is_limited_globally(live: Live, browser: Browser) -> None:
    live.services.receipt_limit._limit = 3
    pin_budget_minute(live.services)
    _, page = await browser.get("/followup")
    form = form_by_action(page, "/followup")
    statuses = [(await browser.submit(form, {"receipt": "wrong words"}))[0] for _ in range(5)]
    # Past the budget the guesses are slowed through one paced lane, not refused
    # (a refusal would lock every reporter out too): only 3 are counted.
    assert statuses == [404] * 5
    assert await live.services.receipt_limit.failures() == 3
    live.services.receipt_limit._max_wait = 0.0  # a lane queued past its longest wait: 429
    live.services.receipt_limit._lane_free_at = float("inf")
    status, _ = await browser.submit(form, {"receipt": "wrong words"})
    assert status == 429


async def test_thread_add_needs_the_sealed_conversation_cookie(live: Live, browser: Browser) -> None:
    """The add form names no receipt: only the cookie a valid receipt set opens the thread."""
    from yarl import URL
    _, html = await browser.report("first report")
    words = receipt_words(html)
    _, page = await browser.get("/followup")
    _, thread = await browser.submit(form_by_action(page, "/followup"), {"receipt": " ".join(words)})
    add = form_by_action(thread, "/followup/add")
    assert "receipt" not in add.fields
    status, _ = await browser.submit(add, {"message": "  "})
    assert status == 400
    jar = browser.session.cookie_jar
    sealed = jar.filter_cookies(URL(live.url + "/followup/thread"))["hl_thread"].value
    for forged in (sealed[:-4] + "AAAA", "", "x" * 1000):
        jar.update_cookies({"hl_thread": forged}, URL(live.url + "/followup/"))
        status, _ = await browser.submit(add, {"receipt": " ".join(words), "message": "injected"})
        assert status == 404
        _, ended = await browser.get("/followup/thread")
        assert "conversation closed" in ended  # 303 to /followup with the reason
    assert _count(live) == 1
