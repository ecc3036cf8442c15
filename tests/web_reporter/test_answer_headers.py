"""The exact headers and cookies of the answers on the report path, over real HTTP.

Pinned here because the path is tuned for speed (bench/RESULTS.md, the web path): the
security headers, the form cookie, the 303 after the post and the sealed receipt cookie
must stay exactly what a browser is told, whatever builds them. http and https
instances both (only https adds HSTS and ``Secure`` cookies).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline.app import make_app
from hotline.web import CONTENT_SECURITY_POLICY
from tests.conftest import free_port
from tests.helpers.html import form_by_action
from tests.helpers.instance import make_instance

ALWAYS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@pytest.fixture(params=["http", "https"])
async def served(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, bool]]:
    https = request.param == "https"
    port = free_port()
    # Served over plain HTTP either way; an https public URL is a TLS proxy in front.
    inst = make_instance(tmp_path, public_url=f"{request.param}://127.0.0.1:{port}")
    server = TestServer(make_app(inst.root, env={}), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{port}", https
    finally:
        await server.close()


def _cookies(response: aiohttp.ClientResponse) -> dict[str, str]:
    return {v.split("=", 1)[0]: v for v in response.headers.getall("Set-Cookie", [])}


def _security(response: aiohttp.ClientResponse, https: bool, caching: dict[str, str]) -> None:
    for name, value in {**ALWAYS, **caching}.items():
        assert response.headers.getall(name) == [value], name
    if https:
        assert response.headers.getall("Strict-Transport-Security") == ["max-age=63072000"]
    else:
        assert "Strict-Transport-Security" not in response.headers


async def test_the_report_path_answers_with_exactly_these_headers_and_cookies(
        served: tuple[str, bool]) -> None:
    url, https = served
    secure = "; Secure" if https else ""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(url + "/") as r:
            assert r.status == 200
            _security(r, https, NO_STORE)
            value = r.cookies["hl_csrf"].value
            assert _cookies(r) == {
                "hl_csrf": f"hl_csrf={value}; HttpOnly; Path=/; SameSite=Strict{secure}"}
            form = form_by_action(await r.text(), "/report")
        data = aiohttp.FormData({**form.fields, "message": "They took our papers"})
        async with session.post(url + "/report", data=data, allow_redirects=False,
                                headers={"Cookie": f"hl_csrf={value}"}) as r:
            assert r.status == 303
            assert r.headers["Location"] == "/receipt?lang=en"
            _security(r, https, NO_STORE)
            cookies = _cookies(r)
            assert set(cookies) == {"hl_receipt"}
            sealed = cookies["hl_receipt"].split(";", 1)[0].split("=", 1)[1]
            assert len(sealed) > 40 and "papers" not in sealed
            assert cookies["hl_receipt"] == (
                f"hl_receipt={sealed}; HttpOnly; Path=/receipt; SameSite=Strict{secure}")
        async with session.get(url + "/static/quick-exit.js") as r:
            _security(r, https, {"Cache-Control": "public, max-age=3600"})
            assert "Pragma" not in r.headers
