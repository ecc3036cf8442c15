"""Inputs the fuzz targets (``fuzz/``) found crashing a parser, kept as plain tests.

Each feeds the crashing input through the same public entry point the target
used (over real HTTP where the parser sits behind a route) and asserts the
specific, clear refusal the parser now gives.
"""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp
import pytest

from hotline.errors import BadRequest
from hotline.twilio.webhook import is_sid
from hotline.voice.forms import parse_digits, parse_recording
from tests.conftest import Browser, Live
from tests.helpers.html import form_by_action


async def test_urlencoded_form_with_unknown_charset_is_a_clear_400(live: Live, browser: Browser) -> None:
    """fuzz/forms: ``charset=nope`` made aiohttp's ``post()`` raise LookupError (a 500)."""
    _, html = await browser.get("/")
    fields = {**form_by_action(html, "/report").fields, "message": "hola"}
    for charset in ("nope", "utf-16", "latin-1"):
        async with browser.session.post(
            live.url + "/report", data=urlencode(fields).encode(),
            headers={"Content-Type": f"application/x-www-form-urlencoded; charset={charset}"}) as r:
            assert r.status == 400
            assert "UTF-8" in await r.text()


@pytest.mark.parametrize("digits", ["1\n", "#\n", "\n"])
def test_digits_with_a_trailing_newline_are_refused(digits: str) -> None:
    """fuzz/ivr: ``^[0-9*#]{0,20}$`` let ``$`` match before a final newline."""
    with pytest.raises(BadRequest, match="the webhook's Digits is malformed"):
        parse_digits({"Digits": digits})
    assert parse_digits({"Digits": digits.rstrip("\n")}) == digits.rstrip("\n")


@pytest.mark.parametrize("name", ["CallSid", "RecordingSid"])
def test_sid_with_a_trailing_newline_is_refused(name: str) -> None:
    """fuzz/ivr: ``is_sid`` matched ``^…$``, so a SID plus a newline was accepted (and stored)."""
    good = {"CallSid": "CA" + "a" * 32, "RecordingSid": "RE" + "b" * 32}
    with pytest.raises(BadRequest, match=f"the webhook's {name} is malformed"):
        parse_recording({**good, name: good[name] + "\n"}, status_callback=False)
    assert not is_sid("SM" + "c" * 32 + "\n")
    assert is_sid("SM" + "c" * 32)


# fuzz/forms: aiohttp parses Content-Type with the stdlib's email header parser,
# which raises IndexError on a parameter like "bparf*" (request.content_type: a 500).
BROKEN_CONTENT_TYPES = ("multipart/form-data; bparf*", "application/x-www-form-urlencoded; a*",
                         "application/json; x*")


async def test_unparseable_content_type_on_the_report_form_is_a_clear_400(live: Live) -> None:
    async with aiohttp.ClientSession() as session:
        for ctype in BROKEN_CONTENT_TYPES:
            async with session.post(live.url + "/report", data=b"message=hola",
                                    headers={"Content-Type": ctype}) as r:
                assert r.status == 400, ctype


async def test_unparseable_content_type_on_the_api_is_a_clear_400(live: Live) -> None:
    async with aiohttp.ClientSession() as session:
        for ctype in BROKEN_CONTENT_TYPES:
            async with session.post(live.url + "/api/auth/challenge", data=b"{}",
                                    headers={"Content-Type": ctype}) as r:
                assert r.status == 400, ctype
                assert "Content-Type" in (await r.json())["error"]
