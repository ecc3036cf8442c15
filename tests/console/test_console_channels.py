"""The console in real Chromium with a tip that crossed channels, and an inbox
that needs pages (issue 12 §1 and §6).

One number texts, calls and leaves a voicemail, then texts again: every message
opens and the voicemail plays and saves. Another number only calls. Fifty more
texters fill the first page: the console pages forward and back, and filters
by channel and urgency, all through the API's cursor and filters.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, async_playwright, expect

from tests.conftest import free_port
from tests.console.browser import ARGS, PHONE, need_chromium
from tests.helpers.instance import PASSPHRASE, make_instance
from tests.helpers.twilio_fake import FakeTwilio
from tests.twilio.conftest import SmsLive, sms_server
from tests.voice.conftest import WAV, give_phones
from tests.voice.test_voice_after_text import leave_voicemail, text

FILLERS = 50


async def _fill(live: SmsLive) -> tuple[str, str]:
    await text(live, "first text")
    await leave_voicemail(live)
    await text(live, "second text")
    [(mixed_ref,)] = live.query("SELECT ref FROM tips")
    for i in range(FILLERS):
        assert (await live.text(f"test {i}", sender=f"+1415555{i:04d}"))[0] == 200
    await leave_voicemail(live, caller="+14155559999")
    [(voice_ref,)] = live.query("SELECT ref FROM tips WHERE channel = 'voice'")
    return mixed_ref, voice_ref


async def _unlock(page: Page, live: SmsLive) -> None:
    await page.goto(live.url + "/console")
    await page.get_by_label("Key file (from hotline keygen)").set_input_files(
        str(live.instance.key_file("alice")))
    await page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
    await page.get_by_role("button", name="Unlock").click()
    await page.get_by_role("heading", name="Inbox").wait_for()


async def test_console_opens_a_tip_that_crossed_channels_and_pages_the_inbox(
        tmp_path: Path) -> None:
    fake = await FakeTwilio().start()
    try:
        await _journey(tmp_path, fake)
    finally:
        await fake.close()


async def _journey(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    executable = need_chromium()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{free_port()}")
    give_phones(inst, on_call=["alice", "bob"])
    async with sms_server(tmp_path, fake_twilio, instance=inst) as live:
        mixed_ref, voice_ref = await _fill(live)
        problems: list[str] = []
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=executable, args=ARGS,
                                              headless=True)
            ctx = await browser.new_context(viewport=PHONE, accept_downloads=True,
                                            locale="en-US")
            page = await ctx.new_page()
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 else None)
            await _unlock(page, live)

            # Pages: 50 on the first, the other two on the second, and back.
            tips = page.locator(".tip")
            await page.get_by_text("Page 1").wait_for()
            assert await tips.count() == 50
            assert await page.get_by_role("button", name="Previous page").is_disabled()
            await page.get_by_role("button", name="Next page").click()
            await page.get_by_text("Page 2").wait_for()
            assert await tips.count() == 2
            assert await page.get_by_role("button", name="Next page").is_disabled()
            await page.get_by_role("button", name="Previous page").click()
            await page.get_by_text("Page 1").wait_for()
            assert await tips.count() == 50

            # Filters: the tip that began as a call; then back to every channel.
            await page.get_by_label("Channel").select_option("voice")
            await page.locator(f".tip >> text={voice_ref}").wait_for()
            # (locator waits, not wait_for_function: the console's CSP forbids the eval it uses)
            await expect(tips).to_have_count(1)
            await page.get_by_label("Urgency").select_option("critical")
            await page.get_by_text("No tips are shared with you.").wait_for()
            await page.get_by_label("Urgency").select_option("")
            await page.get_by_label("Channel").select_option("sms")  # 51 SMS tips: two pages
            await expect(tips).to_have_count(50)
            await expect(page.locator("button[name=next]")).to_be_enabled()

            # The tip that crossed channels: every message opens, the voicemail too.
            await page.get_by_role("button", name=mixed_ref).click()
            await page.get_by_role("heading", level=1, name=mixed_ref).wait_for()
            await page.get_by_text("first text").wait_for()
            await page.get_by_text("second text").wait_for()
            assert await page.get_by_text("Cannot open this message").count() == 0
            await page.get_by_role("button", name="Decrypt and play voicemail.wav").click()
            async with page.expect_download() as dl:
                await page.get_by_role("button", name="Decrypt and save voicemail.wav").click()
            saved = await (await dl.value).path()
            assert Path(saved).read_bytes() == WAV  # noqa: ASYNC240 - a small local file
            await browser.close()
        assert not problems, problems
