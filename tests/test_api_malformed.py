"""Malformed API input gets a clear 400 naming the field, never a 500.

Each case here is one the fuzzer (tests/test_openapi_fuzz.py) found or one of
the same kind, kept as a plain regression test."""

from __future__ import annotations

import asyncio

import aiohttp

from hotline.client.advocate import AdvocateClient
from tests.conftest import Browser, Live
from tests.test_api import _raw, _tip


async def _post_raw(live: Live, path: str, body: bytes,
                    token: str | None = None) -> tuple[int, dict[str, str]]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as s, s.post(live.url + path, data=body,
                                                    headers=headers) as r:
        return r.status, await r.json()


async def _token(live: Live) -> str:
    client = AdvocateClient(live.url, live.instance.alice)
    await asyncio.to_thread(client.login)
    assert client.http.token
    return client.http.token


async def test_login_with_a_non_ascii_nonce_is_a_400(live: Live) -> None:
    body = {"fingerprint": live.instance.alice.fingerprint, "nonce": "nönce",
            "expires_at": 1, "signature": "AAAA"}
    status, answer = await _raw(live, "POST", "/api/auth/token", json=body)
    assert (status, answer) == (400, {"error": "'nonce' is not base64"})


async def test_a_message_with_a_non_ascii_envelope_is_a_400(live: Live, browser: Browser) -> None:
    tip = await _tip(live, browser)
    body = {"id": "m" + "a" * 26, "direction": "note", "envelope": "énvelope"}
    status, answer = await _raw(live, "POST", f"/api/tips/{tip}/messages", await _token(live),
                                json=body)
    assert (status, answer) == (400, {"error": "'envelope' is not base64"})


async def test_a_handoff_with_a_non_ascii_grant_is_a_400(live: Live, browser: Browser) -> None:
    tip = await _tip(live, browser)
    body = {"to": live.instance.bob.fingerprint, "grants": [{"id": "m" + "a" * 26, "grant": "grånt"}]}
    status, answer = await _raw(live, "POST", f"/api/tips/{tip}/handoff", await _token(live),
                                json=body)
    assert (status, answer) == (400, {"error": "'grant' is not base64"})


async def test_an_inbox_limit_in_superscript_digits_is_a_400(live: Live) -> None:
    status, answer = await _raw(live, "GET", "/api/tips?limit=%C2%B2", await _token(live))
    assert status == 400
    assert "'limit' must be a whole number" in answer["error"]


async def test_an_unpaired_surrogate_in_a_json_body_is_a_400(live: Live, browser: Browser) -> None:
    """JSON may escape half a UTF-16 pair (``"\\ud800"``); Python reads it as a str that
    cannot be encoded, which failed deep inside (a MAC over the fingerprint, an SQL bind)."""
    raw = b'{"fingerprint": "\\ud800"}'
    status, answer = await _post_raw(live, "/api/auth/challenge", raw)
    assert status == 400 and "surrogate" in answer["error"]
    tip = await _tip(live, browser)
    raw = (b'{"to": "%s", "grants": [{"id": "m\\udfff", "grant": "AAAA"}]}'
           % live.instance.bob.fingerprint.encode())
    status, answer = await _post_raw(live, f"/api/tips/{tip}/handoff", raw, await _token(live))
    assert status == 400 and "surrogate" in answer["error"]


async def test_an_attachment_part_past_sqlite_integers_is_a_404(live: Live, browser: Browser) -> None:
    """A part number past 2**63 failed in the SQL bind; non-ASCII digits ('１') were read."""
    tip = await _tip(live, browser)
    token = await _token(live)
    for part in ("99999999999999999999999", "%EF%BC%91", "-1"):
        status, answer = await _raw(
            live, "GET", f"/api/tips/{tip}/messages/m{'a' * 26}/attachments/{part}", token)
        assert (status, answer) == (404, {"error": "no such attachment"}), part
