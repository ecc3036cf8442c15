"""Bodies are bounded per route, before anything reads or parses them."""

from __future__ import annotations

import asyncio

import aiohttp

from hotline.body_limits import AUTH_BYTES, NO_BODY_BYTES, SMALL_BYTES, BodyLimits
from tests.conftest import Live


async def _head_only(live: Live, method: str, path: str, length: int,
                     extra: str = "") -> tuple[int, bytes]:
    """Send the request line and headers, declaring ``length`` bytes, and none of the body:
    a server that answers has decided without reading it (one that reads would wait)."""
    host, port = live.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write((f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {length}\r\n"
                      f"{extra}\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        return int(head.split(b" ", 2)[1]), head
    finally:
        writer.close()


async def test_a_huge_login_body_is_refused_unread(live: Live) -> None:
    status, _ = await _head_only(live, "POST", "/api/auth/challenge", 30 * 1024 * 1024)
    assert status == 413
    async with aiohttp.ClientSession() as s, s.get(live.url + "/healthz") as r:
        assert r.status == 200


async def test_a_chunked_body_is_cut_off_at_the_routes_bound(live: Live) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(64):
            yield b" " * 4096  # 256 KiB of JSON whitespace, no length declared

    async with aiohttp.ClientSession() as s:
        async with s.post(live.url + "/api/auth/challenge", data=chunks(),
                          headers={"Content-Type": "application/json"}) as r:
            assert r.status == 413
            assert "too large" in (await r.json())["error"]
        async with s.post(live.url + "/followup", data=b"receipt=" + b"a" * (SMALL_BYTES + 1),
                          headers={"Content-Type": "application/x-www-form-urlencoded"}) as r:
            assert r.status == 413


async def test_an_upload_route_checks_the_token_before_reading(live: Live) -> None:
    status, head = await _head_only(live, "POST", "/api/tips/t1/messages", 2 * 1024 * 1024)
    assert status == 401, head


def test_the_bounds_by_route() -> None:
    limits = BodyLimits(reporter_upload=50_000_000, advocate_upload=70_000_000)
    assert limits.for_request("POST", "/api/auth/challenge") == AUTH_BYTES
    assert limits.for_request("POST", "/api/auth/token") == AUTH_BYTES
    assert limits.for_request("POST", "/twilio/sms") == SMALL_BYTES
    assert limits.for_request("POST", "/followup") == SMALL_BYTES
    assert limits.for_request("POST", "/report") == 50_000_000
    assert limits.for_request("POST", "/followup/add") == 50_000_000
    assert limits.for_request("POST", "/api/tips/abc/messages") == 70_000_000
    assert limits.for_request("POST", "/api/tips/abc/triage") == SMALL_BYTES
    assert limits.for_request("POST", "/api/tips/abc/messages/x") == SMALL_BYTES
    assert limits.for_request("GET", "/api/tips") == NO_BODY_BYTES
