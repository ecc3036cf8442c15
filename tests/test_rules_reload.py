"""Live rule reload: atomic swap, a broken set refused, the old one kept."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.helpers.instance import make_instance
from tests.helpers.process import ServerProcess, run_cli

pytestmark = pytest.mark.slow

LOCAL_RULE = """
[[rule]]
id = "local.lantern"
phrases = ["blue lantern"]
urgency = "critical"
[rule.examples]
match = ["the blue lantern house"]
no_match = ["a red lantern"]
"""


def _version(url: str) -> str:
    with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
        return str(json.loads(r.read())["rules"])


def _wait_for_change(url: str, old: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (v := _version(url)) != old:
            return v
        time.sleep(0.1)
    return old


def test_reload_swaps_and_broken_sets_are_refused(tmp_path: Path) -> None:
    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    server = ServerProcess(inst.root, port).start()
    try:
        before = _version(server.url)
        (inst.root / "rules" / "local.toml").write_text(LOCAL_RULE)
        out = run_cli("rules", "reload", str(inst.root)).stdout
        after = _wait_for_change(server.url, before)
        assert after != before and after in out
        explained = json.loads(run_cli("rules", "explain", "blue lantern", "--dir", str(inst.root),
                                       "--json").stdout)
        assert explained["fired"] == ["local.lantern"]

        (inst.root / "rules" / "local.toml").write_text(LOCAL_RULE + '\n[[rule]]\nid = "broken"\n')
        proc = run_cli("rules", "reload", str(inst.root), check=False)
        assert proc.returncode == 1 and "local.toml:" in proc.stderr and "keeps its rules" in proc.stderr
        pid = int((inst.root / "hotline.pid").read_text())
        os.kill(pid, signal.SIGHUP)  # an operator's raw SIGHUP with the broken set
        time.sleep(1.5)
        assert _version(server.url) == after  # the last good set keeps running
        log = (inst.root / "logs" / "hotline.log").read_text()
        assert "rules.reload_refused" in log and "rules.live" in log
    finally:
        assert server.stop() == 0
    assert not (inst.root / "hotline.pid").exists()
    proc = run_cli("rules", "reload", str(inst.root), check=False)
    assert proc.returncode != 0


def test_reload_without_a_service(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    (inst.root / "hotline.pid").write_text(f"{os.getpid()}\n")  # a stale file naming pytest
    proc = run_cli("rules", "reload", str(inst.root), check=False)
    assert proc.returncode != 0 and "no running service" in proc.stderr


async def test_reload_under_load_every_decision_names_a_whole_rule_set(tmp_path: Path) -> None:
    import asyncio
    import sqlite3

    import aiohttp

    from hotline.config import load_config
    from tests.conftest import Browser
    from tests.helpers.html import form_by_action
    from triage_rules import load_rules

    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    paths = load_config(inst.root).rule_paths()
    base = load_rules(paths).version
    local = inst.root / "rules" / "local.toml"
    local.write_text(LOCAL_RULE)
    with_local = load_rules(paths).version
    versions = {base, with_local}
    local.unlink()
    server = ServerProcess(inst.root, port).start()
    pid = int((inst.root / "hotline.pid").read_text())
    stop = asyncio.Event()
    ok = 0

    async def submit() -> None:
        nonlocal ok
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            browser = Browser(server.url, s)
            while not stop.is_set():  # a fresh form each time: a form's token sends once
                _, html = await browser.get("/")
                status, _ = await browser.submit(form_by_action(html, "/report"),
                                                 {"message": "the blue lantern, he took my passport"})
                ok += status == 200

    try:
        workers = [asyncio.create_task(submit()) for _ in range(4)]
        for i in range(6):  # swap back and forth while messages flow
            if i % 2 == 0:
                local.write_text(LOCAL_RULE)
            else:
                local.unlink()
            os.kill(pid, signal.SIGHUP)
            # The swap compiles off the event loop; wait until it is live, then let messages flow.
            expected = with_local if i % 2 == 0 else base
            async with aiohttp.ClientSession() as s:
                for _ in range(200):
                    async with s.get(server.url + "/healthz") as r:
                        if (await r.json())["rules"] == expected:
                            break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError(f"reload {i} to {expected} did not go live in 10 s")
            await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*workers)
    finally:
        assert server.stop() == 0
    conn = sqlite3.connect(inst.root / "hotline.db")
    stored = {v for (v,) in conn.execute("SELECT DISTINCT ruleset_version FROM messages")}
    count = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    conn.close()
    assert ok > 10 and count >= ok
    assert stored <= versions  # each decision was made by one whole, known rule set
    assert len(stored) == 2  # and both sets really served requests
