"""Every outcome code a post can redirect with reads as plain, catalogued words."""

from __future__ import annotations

import pytest

from hotline.channels.web_pages import NOTICES, PROBLEMS, TEXT_LOST
from hotline.web import messages as M
from tests.conftest import Browser, Live


def test_every_code_names_catalogued_text() -> None:
    assert set(PROBLEMS.values()) | set(NOTICES.values()) <= set(M.ALL)
    assert TEXT_LOST <= set(PROBLEMS)


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_problem_codes_show_in_the_reporters_language(live: Live, browser: Browser,
                                                            lang: str) -> None:
    from hotline.web import RENDERER
    r = live.app[RENDERER]
    for code, message in PROBLEMS.items():
        path = "/followup" if code in ("not-found", "busy", "ended") else "/"
        status, html = await browser.get(f"{path}?lang={lang}&problem={code}")
        assert status == 200
        assert r.gettext(lang, message).replace("'", "&#39;") in html, code
        assert (r.gettext(lang, M.TEXT_NOT_KEPT) in html) == (code in TEXT_LOST and path == "/")
    from hotline.twilio.texts import duration_words
    grace = duration_words(lang, live.services.config["ops.deletion_grace"])
    for code, message in NOTICES.items():
        _, html = await browser.get(f"/followup?lang={lang}&n={code}")
        assert r.gettext(lang, message).replace("{delay}", grace) in html
        assert "{delay}" not in html
    _, html = await browser.get(f"/?lang={lang}&problem=<script>")
    assert "<script>" not in html
