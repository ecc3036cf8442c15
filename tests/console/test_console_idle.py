"""The idle lock: an unlocked console left alone forgets the key and the token.

Playwright's clock stands in for five minutes of nobody touching the phone;
the server and the crypto are real.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import async_playwright

from tests.console.browser import ARGS, PHONE, need_chromium
from tests.helpers.instance import PASSPHRASE
from tests.helpers.twilio_fake import FakeTwilio
from tests.twilio.conftest import sms_server


async def test_idle_console_locks_itself(tmp_path: Path) -> None:
    executable = need_chromium()
    fake = await FakeTwilio().start()
    try:
        async with sms_server(tmp_path, fake) as live, async_playwright() as p:
            browser = await p.chromium.launch(executable_path=executable, args=ARGS, headless=True)
            try:
                page = await browser.new_page(viewport=PHONE, locale="en-US")
                tokens: set[str] = set()
                page.on("request", lambda r: tokens.add(r.headers.get("authorization", "")))
                await page.clock.install()
                await page.goto(live.url + "/console")
                await page.get_by_label("Key file (from hotline keygen)").set_input_files(
                    str(live.instance.key_file("alice")))
                await page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
                await page.get_by_role("button", name="Unlock").click()
                await page.get_by_role("heading", name="Inbox").wait_for()
                await page.clock.run_for("04:30")  # not yet
                assert await page.get_by_role("heading", name="Inbox").is_visible()
                await page.clock.run_for("00:31")
                await page.get_by_text("Locked after 5 minutes without activity.").first.wait_for()
                await page.get_by_role("button", name="Unlock").wait_for()
                assert not await page.get_by_role("heading", name="Inbox").is_visible()
                # Nothing from the inbox is left on the page.
                assert await page.evaluate("() => document.querySelectorAll('.tip').length") == 0
                # The token the console used is dead on the server too, not only forgotten.
                used = [t for t in tokens if t.startswith("Bearer ")]
                assert used
                for token in used:
                    async with live.session.get(live.url + "/api/me",
                                                headers={"Authorization": token}) as r:
                        assert r.status == 401, "a locked console's token still works"
            finally:
                await browser.close()
    finally:
        await fake.close()
