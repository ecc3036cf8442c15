"""The console shows a reporter's pending deletion request and holds it, in real Chromium.

The request comes in as Twilio would send it (a signed "DELETE" webhook); the
hold and the release go through the console's own API calls; the database
says what happened.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from tests.console.browser import ARGS, PHONE, need_chromium
from tests.helpers.instance import PASSPHRASE
from tests.helpers.twilio_fake import FakeTwilio
from tests.twilio.conftest import SmsLive, sms_server


def _db(live: SmsLive, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(live.instance.root / "hotline.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def test_the_console_shows_the_due_time_and_holds_and_releases(tmp_path: Path) -> None:
    executable = need_chromium()
    fake = await FakeTwilio().start()
    try:
        async with sms_server(tmp_path, fake) as live, async_playwright() as p:
            await live.text("hello, what are your opening hours?")
            await live.text("DELETE")
            (ref,), = _db(live, "SELECT ref FROM tips")
            problems: list[str] = []
            browser = await p.chromium.launch(executable_path=executable, args=ARGS, headless=True)
            try:
                page = await browser.new_page(viewport=PHONE, locale="en-US")
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                        if r.status >= 400 else None)
                await page.goto(live.url + "/console")
                await page.get_by_label("Key file (from hotline keygen)").set_input_files(
                    str(live.instance.key_file("alice")))
                await page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
                await page.get_by_role("button", name="Unlock").click()
                await page.get_by_role("button", name=ref).click()
                await page.get_by_role("heading", name="Deletion requested").wait_for()
                card = page.locator("section.deletion")
                text = await card.inner_text()
                assert "asked (sms)" in text and "unless someone holds it" in text

                await page.get_by_role("button", name="Hold (keep this tip)").click()
                await page.get_by_role("button", name="Release the hold").wait_for()
                assert "held by alice" in await page.locator("section.deletion").inner_text()
                assert _db(live, "SELECT d.state, a.name FROM deletion_requests d JOIN advocates a"
                                 " ON a.id = d.held_by") == [("held", "alice")]

                await page.get_by_role("button", name="Release the hold").click()
                await page.get_by_role("button", name="Hold (keep this tip)").wait_for()
                assert _db(live, "SELECT state, held_by FROM deletion_requests") == \
                    [("pending", None)]
            finally:
                await browser.close()
            assert not problems, problems
    finally:
        await fake.close()
