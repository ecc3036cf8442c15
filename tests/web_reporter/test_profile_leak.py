"""Nothing the reporter typed or saw stays in the browser profile on disk.

Real Chromium (Debian's package) with a persistent profile, JavaScript on and
off (Tor Browser's safest mode): send a report (posted faster than the
minimum age on a quick machine, so the server usually holds it), reload the receipt page,
read an advocate's reply with the receipt, add a message, reload, then leave
by the quick exit. After Chromium has closed and flushed, every file of the
profile is searched for the report, the follow-up, the reply and the receipt
in every encoding a browser might store them in. Which measure stops which
leak is written in docs/threat-model.md.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, async_playwright

from hotline.app import make_app
from hotline.client.advocate import AdvocateClient
from tests.conftest import free_port
from tests.console.browser import ARGS, PHONE, need_chromium
from tests.helpers import instance as helpers

REPORT = "The boss at Ridgeview Farm took our passports, twelve of us sleep in the barn"
FOLLOWUP = "He moved four of us to a house on Calle Ocho last night"
REPLY = "We read you. Are you somewhere safe right now? Reply when you can."
NEUTRAL = "Weather today: mild, light rain later"


def _b64_forms(data: bytes) -> list[bytes]:
    """Base64 of ``data`` wherever it starts in a longer encoded string (3 alignments)."""
    forms = []
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for k in range(3):
            e = encode(b"\0" * k + data)
            forms.append(e[4 if k else 0:-4])
    return forms


def needles(texts: list[str], receipt: list[str]) -> dict[bytes, str]:
    """Every way a browser could write these down: separators, URL and JSON escapes, base64, UTF-16."""
    found: dict[bytes, str] = {}
    phrases = [(t, t) for t in texts]
    for sep in (" ", "-", "+", "%20", ",", ", ", "\n", "\r\n", "_", ".", "", "\t"):
        phrases.append((sep.join(receipt), f"receipt joined by {sep!r}"))
    phrases.append((json.dumps(receipt), "receipt as a JSON list"))
    for text, label in phrases:
        variants = {text, quote_plus(text), quote(text), json.dumps(text)[1:-1],
                    text.upper(), text.lower()}
        for v in variants:
            raw = v.encode()
            for form in (raw, v.encode("utf-16-le"), v.encode("utf-16-be"), *_b64_forms(raw)):
                if len(form) >= 12:
                    found[form] = label
    return found


def leaks(folder: Path, wanted: dict[bytes, str]) -> list[str]:
    hits = []
    for path in folder.rglob("*"):
        if path.is_file():
            try:
                data = path.read_bytes()
            except OSError:
                continue
            hits += [f"{path.relative_to(folder)}: {label}" for n, label in wanted.items() if n in data]
    return sorted(set(hits))


async def _neutral(_: web.Request) -> web.Response:
    return web.Response(text=f"<html><title>Weather</title><body>{NEUTRAL}</body></html>",
                        content_type="text/html")


@asynccontextmanager
async def _servers(tmp_path: Path) -> AsyncIterator[tuple[str, str, helpers.TestInstance]]:
    elsewhere = web.Application()
    elsewhere.router.add_get("/today", _neutral)
    neutral = TestServer(elsewhere, host="127.0.0.1", port=free_port())
    await neutral.start_server()
    port = free_port()
    inst = helpers.make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    exit_url = f"http://127.0.0.1:{neutral.port}/today"
    app = make_app(inst.root, env={"HOTLINE_QUICK_EXIT_URL": exit_url,
                                   "HOTLINE_WEB_FORM_MIN_AGE": "1s"})
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{port}", exit_url, inst
    finally:
        await server.close()
        await neutral.close()


def _db(inst: helpers.TestInstance, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(inst.root / "hotline.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def _reply(url: str, inst: helpers.TestInstance, text: str) -> None:
    ((tip_id,),) = _db(inst, "SELECT id FROM tips")
    client = AdvocateClient(url, inst.alice)
    await asyncio.to_thread(client.login)
    await asyncio.to_thread(client.send, str(tip_id), text, note=False)


async def _reporter(page: Page, url: str, exit_url: str, inst: helpers.TestInstance,
                    javascript: bool) -> list[str]:
    await page.goto(url + "/")
    await page.get_by_label("Your message").fill(REPORT)
    await page.get_by_role("button", name="Send message").click()  # usually younger than 1 s: held
    await page.get_by_role("heading", name="Your receipt", exact=True).wait_for()
    words = [w.strip() for w in await page.locator("ol.receipt li").all_inner_texts()]
    assert len(words) == 12
    assert "/receipt" in page.url and not any(w in page.url for w in words)

    await page.reload()  # the browser's reload of the receipt page
    await page.get_by_role("heading", name="Your receipt is shown only once").wait_for()
    assert await page.locator("ol.receipt").count() == 0

    await _reply(url, inst, REPLY)
    await page.goto(url + "/followup")
    await page.get_by_label("Your receipt words").fill(" ".join(words))
    await page.get_by_role("button", name="Show replies").click()
    await page.get_by_text(REPLY).wait_for()
    await page.get_by_label("Your message").fill(FOLLOWUP)
    await page.get_by_role("button", name="Send message").click()
    await page.get_by_text("Your message was added.").wait_for()
    await page.reload()
    await page.get_by_text(REPLY).wait_for()

    if javascript:  # Esc twice: the page is replaced in history
        await page.keyboard.press("Escape")
        await page.keyboard.press("Escape")
    else:
        await page.get_by_role("link", name="Leave this site quickly").click()
    await page.wait_for_url(exit_url)
    await page.get_by_text(NEUTRAL).wait_for()
    names = {c["name"] for c in await page.context.cookies(url)}
    assert not names & {"hl_receipt", "hl_thread", "hl_csrf"}  # Clear-Site-Data on /exit
    await page.go_back()  # the abuser presses Back
    assert REPLY not in await page.content()
    return words


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_nothing_typed_or_seen_stays_in_the_profile(tmp_path: Path, javascript: bool) -> None:
    executable = need_chromium()
    profile = tmp_path / "profile"
    async with _servers(tmp_path) as (url, exit_url, inst):
        async with async_playwright() as p:
            ctx = await p.chromium.launch_persistent_context(
                str(profile), executable_path=executable, args=ARGS, headless=True,
                viewport=PHONE, locale="en-US", java_script_enabled=javascript)
            page = ctx.pages[0] if ctx.pages else await ctx.new_page()
            words = await _reporter(page, url, exit_url, inst, javascript)
            await ctx.close()
        # one tip, the report and the follow-up once each, despite the reloads
        assert _db(inst, "SELECT direction, COUNT(*) FROM messages GROUP BY direction"
                   " ORDER BY direction") == [("in", 2), ("out", 1)]
    assert leaks(profile, needles([REPORT, FOLLOWUP, REPLY], words)) == []
    assert (profile / "Default" / "Sessions").exists()  # the files that used to hold it all
