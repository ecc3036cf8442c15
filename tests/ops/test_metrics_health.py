"""/metrics and /readyz over real HTTP: the right aggregates, and nothing per tip."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from hotline.app import make_app
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
    async with aiohttp.ClientSession() as s, s.get(live.url + "/metrics") as r:
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
    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    server = TestServer(make_app(inst.root, env=env), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.close()


async def test_readyz_says_ready(live: Live) -> None:
    async with aiohttp.ClientSession() as s, s.get(live.url + "/readyz") as r:
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
