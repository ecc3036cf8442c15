"""The web channel through real HTTP: form → receipt → follow-up → reply."""

from __future__ import annotations

import asyncio
import json

import pytest

from crypto import NotARecipient, open_envelope, unwrap
from hotline.client.advocate import AdvocateClient
from tests.conftest import Browser, Live
from tests.helpers import store
from tests.helpers.html import form_by_action, receipt_words

pytestmark = pytest.mark.both_stores


def _rows(live: Live, sql: str) -> list[tuple]:
    return store.query(live.instance.root, sql)


async def _open(live: Live, tip_id: str, wrapped: bytes, who):  # type: ignore[no-untyped-def]
    key = await live.services.keystore.get(tip_id)
    return open_envelope(unwrap(key, wrapped, label=tip_id), who)


async def test_form_page_is_safe_to_serve(live: Live, browser: Browser) -> None:
    async with browser.session.get(live.url + "/") as r:
        assert r.status == 200
        html = await r.text()
        h = r.headers
        assert "script-src 'self'" in h["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert h["Referrer-Policy"] == "no-referrer"
        assert h["X-Frame-Options"] == "DENY"
        assert "no-store" in h["Cache-Control"]
        assert "hl_csrf" in r.cookies
        assert "SameSite=Strict" in str(r.cookies["hl_csrf"]) or r.cookies["hl_csrf"]["samesite"] == "Strict"
    form = form_by_action(html, "/report")
    assert form.fields["csrf_token"]
    assert "<script>" not in html


async def test_report_is_sealed_to_on_call_and_recovery_only(live: Live, browser: Browser) -> None:
    status, html = await browser.report("They took my passport and I cannot leave the house")
    assert status == 200
    words = receipt_words(html)
    assert len(words) == 12
    (tip_id, urgency, channel), = _rows(live, "SELECT id, urgency, channel FROM tips")
    assert channel == "web" and urgency in ("high", "critical")
    (envelope, ruleset), = _rows(live, "SELECT envelope, ruleset_version FROM messages")
    assert ruleset == live.services.rules.current.version
    inst = live.instance
    opened = await _open(live, tip_id, envelope, inst.alice)
    doc = json.loads(opened.body)
    assert doc["text"] == "They took my passport and I cannot leave the house"
    assert doc["triage"]["rules"]  # why it is urgent travels sealed, not in clear
    assert (await _open(live, tip_id, envelope, inst.recovery)).body == opened.body
    with pytest.raises(NotARecipient):
        await _open(live, tip_id, envelope, inst.bob)


async def test_followup_reply_and_add(live: Live, browser: Browser) -> None:
    _, html = await browser.report("Please help, I work for no pay")
    words = receipt_words(html)
    (tip_id,), = _rows(live, "SELECT id FROM tips")

    client = AdvocateClient(live.url, live.instance.alice)
    await asyncio.to_thread(client.login)
    await asyncio.to_thread(client.send, tip_id, "We read your message. Are you safe now?", note=False)
    await asyncio.to_thread(client.send, tip_id, "private: check shelter capacity", note=True)

    _, page = await browser.get("/followup")
    status, thread = await browser.submit(form_by_action(page, "/followup"),
                                          {"receipt": " ".join(words).upper()})
    assert status == 200
    assert "We read your message. Are you safe now?" in thread
    assert "check shelter capacity" not in thread  # notes are never sealed to the receipt

    status, _after = await browser.submit(form_by_action(thread, "/followup/add"),
                                         {"message": "Yes, for now. They come back at 6pm."})
    assert status == 200
    rows = _rows(live, "SELECT direction, envelope FROM messages ORDER BY seq")
    assert [r[0] for r in rows] == ["in", "out", "note", "in"]
    added = await _open(live, tip_id, rows[3][1], live.instance.alice)
    assert json.loads(added.body)["text"] == "Yes, for now. They come back at 6pm."
    opened = await asyncio.to_thread(client.read, tip_id)
    assert [m["body"] for m in opened.messages][-1] == "Yes, for now. They come back at 6pm."


async def test_spanish_form_gives_spanish_receipt(live: Live, browser: Browser) -> None:
    status, html = await browser.report("Me quitaron el pasaporte", lang="es")
    assert status == 200 and 'lang="es"' in html
    from hotline import receipts
    assert receipts.decode(" ".join(receipt_words(html))) is not None
    from mnemonic import Mnemonic
    spanish = {w for w in Mnemonic("spanish").wordlist}
    import unicodedata
    assert all(unicodedata.normalize("NFKD", w) in spanish for w in receipt_words(html))


async def test_attachment_round_trip(live: Live, browser: Browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    photo = bytes(range(256)) * 1000
    status, _ = await browser.report("photo of the place", files=[("place.jpg", photo, "image/jpeg")])
    assert status == 200
    (tip_id,), = _rows(live, "SELECT id FROM tips")
    (blob,), = _rows(live, "SELECT blob FROM attachments")
    assert photo[:1000] not in blob
    client = AdvocateClient(live.url, live.instance.alice)
    await asyncio.to_thread(client.login)
    opened = await asyncio.to_thread(client.read, tip_id, tmp_path / "out")
    att = opened.messages[0]["attachments"][0]
    assert att["name"] == "place.jpg" and att["content_type"] == "image/jpeg"
    assert att["size"] == len(photo)
    saved = list((tmp_path / "out").iterdir())
    assert len(saved) == 1 and saved[0].read_bytes() == photo


async def test_healthz_and_unknown_pages(live: Live, browser: Browser) -> None:
    async with browser.session.get(live.url + "/healthz") as r:
        body = await r.json()
        assert r.status == 200 and body["status"] == "ok"
        assert body["rules"] == live.services.rules.current.version
    status, html = await browser.get("/nope", headers={"Accept-Language": "es"})
    assert status == 404 and 'lang="es"' in html
    async with browser.session.get(live.url + "/static/style.css") as r:
        assert r.status == 200 and "max-age" in r.headers["Cache-Control"]
