"""What the server does for the console: strict CSP, SRI that matches the served bytes,
gzip, and a clear page when libsodium.js is not installed."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import shutil
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from hotline.console import CONSOLE_CSP, setup_console
from hotline.console.assets import STATIC, SUMO, WRAPPERS, find_libsodium
from tests.conftest import Live


def _sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


async def test_shell_pins_every_script_and_style_with_sri(live: Live) -> None:
    async with aiohttp.ClientSession(auto_decompress=False) as s:
        async with s.get(live.url + "/console", headers={"Accept-Encoding": "gzip"}) as r:
            assert r.status == 200 and r.headers["Content-Encoding"] == "gzip"
            assert r.headers["Content-Security-Policy"] == CONSOLE_CSP
            assert "no-store" in r.headers["Cache-Control"]
            html = gzip.decompress(await r.read()).decode()
        assert "<script>" not in html and "style=" not in html  # no inline script or style
        pinned = dict(re.findall(r'(?:href|src)="(/console/[^"]+)" integrity="([^"]+)"', html))
        shipped = {f"/console/static/{p.relative_to(STATIC).as_posix()}"
                   for p in STATIC.rglob("*.js")} | {"/console/static/console.css"}
        assert shipped <= set(pinned)
        assert {"/console/vendor/libsodium-wrappers.mjs", "/console/vendor/libsodium-sumo.mjs"} <= set(pinned)
        for url, integrity in pinned.items():
            async with s.get(live.url + url) as r:
                assert r.status == 200, url
                assert r.headers["Content-Security-Policy"] == CONSOLE_CSP
                body = await r.read()
                if r.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                assert _sri(body) == integrity, url
        async with s.get(live.url + "/console/vendor/libsodium-wrappers.mjs") as r:
            assert b'"libsodium-sumo"' not in gzip.decompress(await r.read())  # bare import rewritten
        async with s.get(live.url + "/console/static/../assets.py") as r:
            assert r.status == 404


def test_csp_is_strict() -> None:
    parts = dict(p.split(" ", 1) for p in CONSOLE_CSP.split("; "))
    assert parts["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert parts["connect-src"] == "'self'" and parts["default-src"] == "'none'"
    assert "unsafe-inline" not in CONSOLE_CSP and "http" not in CONSOLE_CSP


async def test_missing_libsodium_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("hotline.console.find_libsodium", lambda: None)
    app = web.Application()
    setup_console(app)
    client = await aiohttp_client(app)
    r = await client.get("/console")
    assert r.status == 503 and "npm ci" in await r.text()


def _copy_served(node_modules: Path, to: Path) -> Path:
    for rel in (WRAPPERS, SUMO):
        (to / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(node_modules / rel, to / rel)
    return to


def test_libsodium_found_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HOTLINE_NODE_MODULES, then the installed package's copy, then node_modules."""
    checkout = find_libsodium({})
    assert checkout is not None and checkout.origin == "node_modules"  # this checkout, after npm ci
    assert find_libsodium({"HOTLINE_NODE_MODULES": str(tmp_path)}) == checkout  # empty: skipped
    packaged = _copy_served(checkout.root, tmp_path / "vendor")
    monkeypatch.setattr("hotline.console.assets.VENDOR", packaged)  # as a wheel install has it
    found = find_libsodium({})
    assert found is not None and (found.origin, found.root) == ("installed package", packaged)
    chosen = _copy_served(checkout.root, tmp_path / "chosen")
    found = find_libsodium({"HOTLINE_NODE_MODULES": str(chosen)})
    assert found is not None and (found.origin, found.root) == ("HOTLINE_NODE_MODULES", chosen)
