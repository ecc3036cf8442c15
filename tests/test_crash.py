"""kill -9 under load: every submission that got a receipt page survives."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import Browser, free_port
from tests.helpers.html import form_by_action
from tests.helpers.instance import make_instance
from tests.helpers.process import ServerProcess, run_cli

pytestmark = pytest.mark.slow


async def _submitter(url: str, n: int, acked: list[str], stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        browser = Browser(url, s)
        i = 0
        while not stop.is_set():
            text = f"crash-test worker {n} submission {i}"
            try:  # a fresh form each time: a form's token sends once
                _, html = await browser.get("/")
                status, page = await browser.submit(form_by_action(html, "/report"),
                                                    {"message": text})
            except (TimeoutError, aiohttp.ClientError):
                return  # the server died mid-request: not acknowledged, may or may not be stored
            if status == 200 and 'class="receipt' in page:
                acked.append(text)
            i += 1


async def test_kill_9_loses_no_acknowledged_submission(tmp_path: Path) -> None:
    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    server = ServerProcess(inst.root, port).start()
    acked: list[str] = []
    stop = asyncio.Event()
    workers = [asyncio.create_task(_submitter(server.url, n, acked, stop)) for n in range(8)]
    await asyncio.sleep(2.0)
    server.kill9()  # mid-run, with requests in flight
    stop.set()
    await asyncio.gather(*workers)
    assert len(acked) > 20, "the load did not get going"

    server = ServerProcess(inst.root, port).start()
    try:
        out = run_cli("read", "--all", "--json", "--server", server.url,
                      "--key", str(tmp_path / "alice.key"))
        bodies = {m["body"] for t in json.loads(out.stdout) for m in t["messages"]}
        missing = [t for t in acked if t not in bodies]
        assert missing == [], f"{len(missing)} acknowledged submissions lost"
    finally:
        server.stop()
