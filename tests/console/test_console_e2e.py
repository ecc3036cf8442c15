"""The console as an advocate uses it, in real headless Chromium against the real server.

One browser for the whole module, one journey: import a key file, unlock,
see a web tip and an SMS tip, read both decrypted, play and save a
voicemail, reply on both channels, change urgency (rules feedback), acknowledge,
hand off to a colleague (signed key grants, no stored byte changed), see forged
notes flagged and signed ones named from verified keys, lock, then search the whole browser profile on disk
for any decrypted text.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Protocol

from playwright.async_api import Page, async_playwright

from crypto import EnvelopeContext, seal, sign_message, signed_body
from hotline.client.advocate import AdvocateClient, _verified
from hotline.domain import new_message_id
from tests.conftest import Browser
from tests.console.browser import ARGS, PHONE, files_containing, need_chromium, tone_wav
from tests.helpers import instance as test_instance
from tests.helpers.instance import PASSPHRASE
from tests.helpers.twilio_fake import FakeTwilio
from tests.twilio.conftest import REPORTER, sms_server

DOCS = Path(__file__).resolve().parents[2] / "docs"
UPDATE_SCREENSHOTS = "HOTLINE_UPDATE_SCREENSHOTS"  # set it to refresh docs/console-*.png
WEB_TEXT = "They took my passport and locked me in at the farm"
SMS_TEXT = "ayuda, el patron no me deja salir"
REPLY_WEB = "We read you. Are you safe right now?"
REPLY_SMS = "Le leemos. Esta en peligro ahora?"
NOTE = "Called the shelter, waiting for a bed"


class ConsoleSite(Protocol):
    """What the journey needs of a running server: an in-process one (``SmsLive``) or
    an installed wheel's ``hotline serve`` (tests/console/test_installed_wheel.py)."""

    url: str
    instance: test_instance.TestInstance

    async def text(self, body: str) -> tuple[int, str]: ...


def _db(live: ConsoleSite, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(live.instance.root / "hotline.db")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


async def _tips(live: ConsoleSite, fake: FakeTwilio) -> tuple[str, str]:
    import aiohttp

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        status, _ = await Browser(live.url, s).report(
            WEB_TEXT, files=[("voicemail.wav", tone_wav(), "audio/wav")])
        assert status == 200
    status, _ = await live.text(SMS_TEXT)
    assert status == 200
    rows = dict(_db(live, "SELECT channel, ref FROM tips"))
    return rows["web"], rows["sms"]


async def _open(page: Page, ref: str) -> None:
    await page.get_by_role("button", name=ref).click()
    await page.get_by_role("heading", level=1, name=ref).wait_for()


async def test_advocate_journey(tmp_path: Path) -> None:
    executable = need_chromium()
    fake = await FakeTwilio().start()
    try:
        async with sms_server(tmp_path, fake) as live:
            await journey(live, fake, tmp_path, executable)
    finally:
        await fake.close()


async def journey(live: ConsoleSite, fake: FakeTwilio, tmp_path: Path, executable: str) -> None:
    web_ref, sms_ref = await _tips(live, fake)
    shots = DOCS if os.environ.get(UPDATE_SCREENSHOTS) else tmp_path
    profile = tmp_path / "profile"
    problems: list[str] = []
    api_cache: list[str] = []
    async with async_playwright() as p:
        ctx = await p.chromium.launch_persistent_context(
            str(profile), executable_path=executable, args=ARGS, headless=True, viewport=PHONE,
            accept_downloads=True, locale="en-US")
        page = ctx.pages[0] if ctx.pages else await ctx.new_page()
        page.on("console", lambda m: problems.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                if r.status >= 400 else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("response", lambda r: api_cache.append(r.headers.get("cache-control", ""))
                if "/api/" in r.url else None)
        await page.goto(live.url + "/console")

        # Spanish and back: the whole key screen follows the language.
        await page.get_by_role("button", name="Español").click()
        await page.get_by_role("button", name="Desbloquear").wait_for()
        assert await page.evaluate("document.documentElement.lang") == "es"
        await page.get_by_role("button", name="English").click()

        # Import the key file made by 'hotline keygen' and unlock it here.
        key_file = str(live.instance.key_file("alice"))
        await page.get_by_label("Key file (from hotline keygen)").set_input_files(key_file)
        await page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
        remember = page.get_by_label("Keep the encrypted key file on this device")
        assert not await remember.is_checked()  # a choice, never the default (shared computers)
        await remember.check()
        await page.get_by_role("button", name="Unlock").click()
        await page.get_by_role("heading", name="Inbox").wait_for()
        await page.get_by_role("button", name=web_ref).wait_for()
        assert await page.locator(".tip").count() == 2
        assert await page.locator(".tip.unread").count() == 2
        await page.screenshot(path=str(shots / "console-inbox.png"))

        # The web tip: decrypted text, the voicemail played and saved.
        await _open(page, web_ref)
        await page.get_by_text(WEB_TEXT).wait_for()
        await page.get_by_role("button", name="Decrypt and play voicemail.wav").click()
        await page.wait_for_function(
            "() => { const a = document.querySelector('audio'); return a && a.duration > 0.3; }")
        async with page.expect_download() as dl:
            await page.get_by_role("button", name="Decrypt and save voicemail.wav").click()
        saved = await (await dl.value).path()
        assert Path(saved).read_bytes() == tone_wav()  # noqa: ASYNC240 - a small local file

        # Reply (sealed to the receipt key), a private note, urgency, acknowledge.
        await page.get_by_label("Your reply").fill(REPLY_WEB)
        await page.get_by_role("button", name="Send").first.click()
        await page.get_by_text(REPLY_WEB).wait_for()
        await page.get_by_label("Your note").fill(NOTE)
        await page.get_by_role("button", name="Send").nth(1).click()
        await page.get_by_text(NOTE).wait_for()
        await page.get_by_label("Urgency").select_option("high")
        await page.get_by_role("button", name="Save").click()
        await page.locator(".tipview .badge.u-high").wait_for()
        # The tip is critical: it paged alice (no phone in this instance: the console notifier).
        sent = page.locator("ol.pages li").filter(has_text="Level 1: alice, by the console — sent")
        assert await sent.count() == 1
        await page.get_by_role("button", name="Acknowledge").click()
        await page.get_by_text("alice, by the console — acknowledged").wait_for()
        await page.screenshot(path=str(shots / "console-tip.png"), full_page=False)

        # Hand off to bob: refused until his fingerprint is confirmed, then signed key grants
        # made here; no stored envelope changes.
        bob = live.instance.bob
        before = _db(live, "SELECT id, envelope FROM messages ORDER BY id")
        await page.get_by_label("Colleague", exact=True).select_option(label="bob")
        await page.get_by_label("Fingerprint your colleague").fill("AAAA-" + bob.fingerprint[5:])
        await page.get_by_role("button", name="Grant access and hand off").click()
        await page.get_by_text("not this colleague").wait_for()
        await page.get_by_label("Fingerprint your colleague").fill(bob.fingerprint)
        await page.get_by_role("button", name="Grant access and hand off").click()
        await page.get_by_text("Handed off to bob").wait_for()
        assert _db(live, "SELECT id, envelope FROM messages ORDER BY id") == before
        assert _db(live, "SELECT COUNT(*) FROM grants") == [(3,)]

        # Bob, now on the tip, writes two notes "from alice": the console names no one for
        # them, and names alice (from her verified key) only for what she signed.
        await asyncio.to_thread(_forge_notes, live)
        await page.get_by_role("button", name="Back to inbox").click()
        await _open(page, web_ref)
        await page.get_by_text(FORGED).first.wait_for()
        author = page.locator(".msg .author")
        verified = f"Written by alice · {live.instance.alice.fingerprint}"
        assert await author.filter(has_text=verified).count() == 2  # the reply and the note
        assert await page.locator('.author[data-author="unsigned"]').filter(
            has_text="Unsigned (written before signatures)").count() == 1
        assert await page.locator('.author[data-author="invalid"]').filter(
            has_text="NOT VERIFIED").count() == 1
        assert await page.get_by_text("— alice").count() == 0

        # The SMS tip: decrypted, and a reply texted through the API to the reporter.
        await page.get_by_role("button", name="Back to inbox").click()
        await _open(page, sms_ref)
        await page.get_by_text(SMS_TEXT).wait_for()
        await page.get_by_label("Your reply").fill(REPLY_SMS)
        await page.get_by_role("button", name="Send").first.click()
        await page.get_by_text(REPLY_SMS).wait_for()
        assert await page.locator(".msg .author").filter(has_text=verified).count() == 1

        # Admin view (alice is an admin): people, keys, rules; no content.
        await page.get_by_role("button", name="Admin").click()
        await page.get_by_role("heading", name="Administration").wait_for()
        await page.get_by_text("Rule set version").wait_for()
        assert await page.get_by_text(bob.fingerprint).count() == 1
        assert SMS_TEXT not in await page.locator("main").inner_text()

        # Lock: the key screen again, nothing decrypted on the page or in storage.
        await page.get_by_role("button", name="Lock").click()
        await page.get_by_role("button", name="Unlock").wait_for()
        body = await page.locator("body").inner_text()
        assert not any(s in body for s in (WEB_TEXT, SMS_TEXT, REPLY_WEB, NOTE))
        assert await page.evaluate("localStorage.length + sessionStorage.length") == 0
        assert await page.evaluate("caches.keys().then(k => k.length)") == 0
        stored = await page.evaluate("""() => new Promise((ok) => {
            const r = indexedDB.open('hotline-console');
            r.onsuccess = () => { const g = r.result.transaction('keyfile').objectStore('keyfile').getAll();
              g.onsuccess = () => ok(g.result.map((b) => Array.from(b))); }; })""")
        assert [bytes(b) for b in stored] == [live.instance.key_file("alice").read_bytes()]
        await ctx.close()

    assert not problems, problems
    assert api_cache and all("no-store" in c for c in api_cache)
    secrets = [t.encode() for t in (WEB_TEXT, SMS_TEXT, REPLY_WEB, REPLY_SMS, NOTE, REPORTER)]
    assert files_containing(profile, secrets) == []
    await _check_server_side(live, fake)


FORGED = "False alarm, close this tip"


def _forge_notes(live: ConsoleSite) -> None:
    """As bob: a body naming alice as author (unsigned), and one claiming alice's
    fingerprint with bob's own signature."""
    bob = AdvocateClient(live.url, live.instance.bob)
    bob.login()
    tip_id = _db(live, "SELECT id FROM tips WHERE channel = 'web'")[0][0]
    r = bob.http.get_json(f"/api/tips/{tip_id}/recipients")
    recipients = [_verified(r["recovery"]), *(_verified(a) for a in r["advocates"])]
    alice = live.instance.alice.fingerprint
    for make in (lambda ctx: json.dumps({"v": 1, "text": FORGED, "author": alice,
                                         "author_name": "alice"}).encode(),
                 lambda ctx: signed_body(FORGED, alice, sign_message(live.instance.bob, ctx, FORGED))):
        mid = new_message_id()
        ctx = EnvelopeContext(r["instance_id"], tip_id, mid, "note", r["channel"])
        env = seal(ctx, make(ctx), recipients).envelope
        bob.http.post_json(f"/api/tips/{tip_id}/messages", {
            "id": mid, "direction": "note", "envelope": base64.b64encode(env).decode()})


async def _check_server_side(live: ConsoleSite, fake: FakeTwilio) -> None:
    [sent] = fake.sent
    assert (sent["To"], sent["Body"]) == (REPORTER, REPLY_SMS)
    (web_tip, urgency, acked), = _db(live, "SELECT id, urgency, acked_by FROM tips WHERE channel='web'")
    assert urgency == "high" and acked is not None
    assert _db(live, "SELECT COUNT(*) FROM rule_feedback")[0][0] == 1
    bob = AdvocateClient(live.url, live.instance.bob)
    await asyncio.to_thread(bob.login)
    opened = await asyncio.to_thread(bob.read, web_tip)
    bodies = [m["body"] for m in opened.messages]
    assert bodies == [WEB_TEXT, REPLY_WEB, NOTE, FORGED, FORGED]
    assert [(m["signature"] or {}).get("status") for m in opened.messages] == [
        None, "verified", "verified", "unsigned", "invalid"]
    assert {m["granted_by"]["name"] for m in opened.messages[:3]} == {"alice"}
    recipients = await asyncio.to_thread(bob.http.get_json, f"/api/tips/{web_tip}/recipients")
    reply_key = recipients["reporter"]["fingerprint"]  # wrapped at rest, unwrapped for the API
    assert reply_key in opened.messages[1]["sealed_to"]
    assert reply_key not in opened.messages[2]["sealed_to"]
