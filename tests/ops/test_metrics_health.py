"""/metrics and /readyz over real HTTP: the right aggregates, and nothing per tip."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from hotline.app import make_app
from hotline.ops.listener import make_ops_app
from tests.conftest import Browser, Live, free_port
from tests.helpers.html import receipt_words
from tests.helpers.instance import make_instance

MARKER = "METRIC-MARKER-z1x2c3"
CLOSED_SETS = {
    "channel": {"web", "sms", "voice", "whatsapp"},
    "urgency": {"low", "normal", "high", "critical"},
    "status": {"new", "acknowledged", "in_progress", "closed"},
    "outcome": {"ok", "refused", "failed"},
    "reason": {"retention", "reporter-request", "admin"},
    "endpoint": {"sms", "voice", "status", "page"},
    "notifier": {"sms", "call", "email", "webhook", "console"},
    "via": {"api", "sms", "call", "console"},
    "le": None, "quantile": None,  # numeric bucket bounds
}


async def _scrape(live: Live) -> str:
    async with aiohttp.ClientSession() as s, s.get(live.ops_url + "/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        return await r.text()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_count_tips_and_commits_without_per_tip_labels(
        live: Live, browser: Browser) -> None:
    status, html = await browser.report(f"help me {MARKER}")
    assert status == 200
    words = receipt_words(html)
    live.services.rules.reload()
    text = await _scrape(live)
    samples = _samples(text)
    tip = await live.services.db.fetchone("SELECT id, ref, urgency FROM tips")
    assert tip is not None
    key = ("hotline_tips", (("channel", "web"), ("status", "new"), ("urgency", tip["urgency"])))
    assert samples[key] == 1.0
    assert samples[("hotline_writer_commit_seconds_count", ())] >= 1
    assert ("hotline_writer_queue_depth", ()) in samples
    assert samples[("hotline_rule_reloads_total", (("outcome", "ok"),))] == 1.0
    # No label names anything but a closed set; no tip id, reference, receipt or content.
    for (_name, labels) in samples:
        for label, value in labels:
            allowed = CLOSED_SETS.get(label, set())
            assert allowed is None or value in allowed, (label, value)
    # The receipt as a phrase; single BIP-39 words ("deliver") may be plain English in help text.
    for secret in (tip["id"], tip["ref"], MARKER, " ".join(words)):
        assert secret not in text
    assert not {v for (_n, labels) in samples for _l, v in labels} & set(words)


@asynccontextmanager
async def _served(tmp_path: Path, env: dict[str, str]) -> AsyncIterator[str]:
    """The real app on 127.0.0.1 with this environment (configuration, not patches)."""
    port, ops_port = free_port(), free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    app = make_app(inst.root, env=env)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    ops = TestServer(make_ops_app(app), host="127.0.0.1", port=ops_port)
    await ops.start_server()
    try:
        yield f"http://127.0.0.1:{ops_port}"
    finally:
        await ops.close()
        await server.close()


async def test_readyz_says_ready(live: Live) -> None:
    async with aiohttp.ClientSession() as s, s.get(live.ops_url + "/readyz") as r:
        body = await r.json()
    assert r.status == 200, body
    assert body["status"] == "ready" and body["problems"] == []


async def test_readyz_says_what_is_wrong(tmp_path: Path) -> None:
    async with _served(tmp_path, {"HOTLINE_MIN_FREE_DISK": "1000000GB"}) as url, \
            aiohttp.ClientSession() as s, s.get(url + "/readyz") as r:
        body = await r.json()
    assert r.status == 503
    assert body["status"] == "not ready"
    assert len(body["problems"]) == 1 and body["problems"][0].startswith("disk: only ")


async def test_a_metrics_token_closes_the_door(tmp_path: Path) -> None:
    async with _served(tmp_path, {"HOTLINE_METRICS_TOKEN": "s3cret"}) as url, \
            aiohttp.ClientSession() as s:
        async with s.get(url + "/metrics") as r:
            assert r.status == 401
        async with s.get(url + "/readyz", headers={"Authorization": "Bearer nope"}) as r:
            assert r.status == 401
        async with s.get(url + "/metrics", headers={"Authorization": "Bearer s3cret"}) as r:
            assert r.status == 200
            assert re.search(r"^hotline_tips", await r.text(), re.M)


async def test_the_public_listener_serves_no_ops_data(live: Live, browser: Browser) -> None:
    """Polling /metrics on the public side (or the onion service, which skips the proxy)
    would show each report's arrival, channel and urgency: there it does not exist."""
    await browser.report(f"help me {MARKER}")
    async with aiohttp.ClientSession() as s:
        for path in ("/metrics", "/readyz", "/metrics/", "/readyz?x=1"):
            async with s.get(live.url + path) as r:
                assert r.status == 404, path
                assert "hotline_tips" not in await r.text()
        async with s.get(live.url + "/healthz") as r:
            assert r.status == 200
        async with s.get(live.ops_url + "/metrics") as r:
            assert r.status == 200 and "hotline_tips" in await r.text()


def test_an_ops_listener_off_loopback_needs_a_token(tmp_path: Path) -> None:
    from hotline.config import load_config
    from hotline.errors import ConfigError

    inst = make_instance(tmp_path)
    with pytest.raises(ConfigError, match=r"ops.host: 0.0.0.0 is not a loopback address"):
        load_config(inst.root, {"HOTLINE_OPS_HOST": "0.0.0.0"})  # noqa: S104 - the point of the test
    config = load_config(inst.root, {"HOTLINE_OPS_HOST": "0.0.0.0", "HOTLINE_METRICS_TOKEN": "t"})  # noqa: S104
    assert config["ops.host"] == "0.0.0.0"  # noqa: S104
    assert load_config(inst.root, {"HOTLINE_OPS_HOST": "::1"})["ops.host"] == "::1"


def test_hotline_serve_keeps_ops_data_on_its_own_listener(tmp_path: Path) -> None:
    """As an operator runs it: public 404, ops listener 200; a taken ops port is one clear line."""
    import urllib.error
    import urllib.request

    from tests.helpers.process import ServerProcess

    inst = make_instance(tmp_path)
    server = ServerProcess(inst.root, free_port()).start()
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.url + "/metrics", timeout=10)
        assert refused.value.code == 404
        with urllib.request.urlopen(server.ops_url + "/metrics", timeout=10) as r:
            assert r.status == 200 and b"hotline_tips" in r.read()
        taken = server.ops_url.rsplit(":", 1)[1]
        second = ServerProcess(inst.root, free_port(), {"HOTLINE_OPS_PORT": taken})
        with pytest.raises(AssertionError, match=rf"ops listener cannot bind 127.0.0.1:{taken}"):
            second.start()
        assert "Traceback" not in second.stderr_path.read_text()
    finally:
        server.stop()
