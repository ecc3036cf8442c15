"""``hotline serve --workers 2`` as a real process tree, over real HTTP.

Which worker stored a tip is read from the log (every worker's lines carry
``worker``) and which processes run from the supervisor's ``/readyz``: no
debug header on public answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hotline.supervisor_ops import merge_metrics
from tests.conftest import Browser, free_port
from tests.helpers.html import form_by_action
from tests.helpers.instance import make_instance
from tests.helpers.process import ServerProcess, run_cli

pytestmark = pytest.mark.slow

TWO = ("--workers", "2")
JSON_LOGS = {"HOTLINE_LOG_FORMAT": "json"}


def _readyz(server: ServerProcess) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(server.ops_url + "/readyz", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
    except OSError:
        return 0, {"workers": []}


def _worker_pids(server: ServerProcess) -> dict[int, int | None]:
    return {w["worker"]: w["pid"] for w in _readyz(server)[1]["workers"]}


def _log_events(root: Path, event: str) -> list[dict[str, Any]]:
    lines = (root / "logs" / "hotline.log").read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == event:
            out.append(entry)
    return out


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def _wait(predicate: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def _submitter(url: str, n: int, acked: list[str], stop: asyncio.Event) -> None:
    """Posts reports until told to stop; a request that fails was not acknowledged."""
    i = 0
    while not stop.is_set():
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            browser = Browser(url, s)
            while not stop.is_set():
                text = f"workers test reporter {n} report {i}"
                i += 1
                try:  # a fresh form each time: a form's token sends once
                    _, html = await browser.get("/")
                    status, page = await browser.submit(form_by_action(html, "/report"),
                                                        {"message": text})
                except (TimeoutError, aiohttp.ClientError, AssertionError):
                    await asyncio.sleep(0.1)
                    break  # a connection cut by the killed worker: start a fresh session
                if status == 200 and 'class="receipt' in page:
                    acked.append(text)


async def test_two_workers_serve_survive_a_kill_9_and_stop_together(tmp_path: Path) -> None:
    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    server = ServerProcess(inst.root, port, dict(JSON_LOGS), serve_args=TWO).start()
    try:
        _wait(lambda: _readyz(server)[0] == 200, "both workers ready")
        pids = _worker_pids(server)
        assert len(pids) == 2 and len(set(pids.values())) == 2 and server.proc is not None
        assert server.proc.pid not in pids.values()

        acked: list[str] = []
        stop = asyncio.Event()
        tasks = [asyncio.create_task(_submitter(server.url, n, acked, stop)) for n in range(8)]
        loop = asyncio.get_running_loop()
        # Both workers take reports: the kernel hands connections to whichever accepts.
        await loop.run_in_executor(None, _wait, lambda: len(acked) > 20 and {
            e["worker"] for e in _log_events(inst.root, "intake.stored")} == {0, 1},
            "both workers to store reports")
        before_kill = len(acked)
        os.kill(pids[1], signal.SIGKILL)  # mid-load, requests in flight
        await loop.run_in_executor(None, _wait, lambda: (
            _worker_pids(server).get(1) not in (None, pids[1])), "worker 1 restarted")
        restarted = _worker_pids(server)
        assert restarted[0] == pids[0], "the other worker kept serving"
        await loop.run_in_executor(None, _wait, lambda: len(acked) > before_kill + 40,
                                   "reports acknowledged after the restart")
        stop.set()
        await asyncio.gather(*tasks)
        assert before_kill > 10, "the load did not get going before the kill"
        status, ready = _readyz(server)
        assert status == 200, ready
        assert [w["restarts"] for w in ready["workers"]] == [0, 1]
        exited = _log_events(inst.root, "worker.exited")
        assert [(e["worker"], e["exit_code"]) for e in exited] == [(1, -9)]

        out = run_cli("read", "--all", "--json", "--server", server.url,
                      "--key", str(tmp_path / "alice.key"))
        bodies = {m["body"] for t in json.loads(out.stdout) for m in t["messages"]}
        missing = [t for t in acked if t not in bodies]
        assert missing == [], f"{len(missing)} of {len(acked)} acknowledged reports lost"
    finally:
        code = server.stop()
    assert code == 0, server.stderr_path.read_text()
    workers = [pids[0], restarted[1]]
    assert not any(_alive(p) for p in workers), "a worker outlived its supervisor's SIGTERM"
    assert not (inst.root / "hotline.pid").exists()
    stopped = {e.get("worker") for e in _log_events(inst.root, "service.stopped")}
    assert {0, 1} <= stopped, "each worker closes its services (commits what is queued)"


def test_a_killed_supervisor_takes_its_workers_down(tmp_path: Path) -> None:
    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    server = ServerProcess(inst.root, port, dict(JSON_LOGS), serve_args=TWO).start()
    _wait(lambda: _readyz(server)[0] == 200, "both workers ready")
    pids = list(_worker_pids(server).values())
    server.kill9()
    _wait(lambda: not any(_alive(p) for p in pids if p), "the workers to stop")  # lifeline closed
    assert {e.get("worker") for e in _log_events(inst.root, "service.supervisor_gone")} == {0, 1}


def test_a_worker_that_cannot_start_stops_the_start_with_its_reason(tmp_path: Path) -> None:
    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    (inst.root / "hotline.db").unlink()
    proc = subprocess.run(
        [*ServerProcess(inst.root, port).command, "serve", str(inst.root), "--port", str(port),
         "--workers", "2"],
        capture_output=True, text=True, timeout=120,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")},
             "HOTLINE_OPS_PORT": str(free_port())})
    assert proc.returncode != 0
    assert "no database" in proc.stderr and "could not start" in proc.stderr
    assert "Traceback" not in proc.stderr
    with pytest.raises(OSError):  # nothing left listening
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)


@pytest.mark.parametrize("bad", ["0", "65", "many"])
def test_workers_must_be_a_sensible_count(tmp_path: Path, bad: str) -> None:
    inst = make_instance(tmp_path)
    proc = run_cli("serve", str(inst.root), "--workers", bad, check=False)
    assert proc.returncode == 2 and "from 1 to 64, or auto" in proc.stderr


def test_metrics_of_every_worker_are_one_exposition_labelled_by_worker() -> None:
    one = ("# HELP hotline_x_total X.\n# TYPE hotline_x_total counter\n"
           'hotline_x_total{channel="web"} 3.0\n'
           "# HELP hotline_q Q.\n# TYPE hotline_q gauge\nhotline_q 1.0\n")
    two = one.replace("3.0", "4.0").replace("q 1.0", "q 2.0")
    merged = merge_metrics([(0, one), (1, two)])
    assert merged == (
        "# HELP hotline_x_total X.\n# TYPE hotline_x_total counter\n"
        'hotline_x_total{worker="0",channel="web"} 3.0\n'
        'hotline_x_total{worker="1",channel="web"} 4.0\n'
        "# HELP hotline_q Q.\n# TYPE hotline_q gauge\n"
        'hotline_q{worker="0"} 1.0\nhotline_q{worker="1"} 2.0\n')


def test_a_rule_reload_reaches_every_worker(tmp_path: Path) -> None:
    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    server = ServerProcess(inst.root, port, dict(JSON_LOGS), serve_args=TWO).start()
    try:
        _wait(lambda: _readyz(server)[0] == 200, "both workers ready")
        assert _log_events(inst.root, "rules.live") == []
        run_cli("rules", "reload", str(inst.root))  # signals the pid file's process: the supervisor
        _wait(lambda: {e.get("worker") for e in _log_events(inst.root, "rules.live")} == {0, 1},
              "both workers to swap their rules")
    finally:
        assert server.stop() == 0
