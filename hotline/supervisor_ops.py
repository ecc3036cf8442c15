"""The ops listener of ``hotline serve --workers N``: answers for every worker.

Each worker serves ``/readyz`` and ``/metrics`` on its own Unix socket in a
private (0700) folder of the supervisor; the supervisor binds ``ops.host:
ops.port`` (loopback by default, token rules as for one process) and asks
every worker:

* ``/readyz`` is ready only when every worker is running and says it is
  ready; each problem names its worker ("worker 1: not running, restart 3
  in 2.0 s", "worker 0: database: the writer has stopped"). A worker that
  does not answer within ``ANSWER_WITHIN`` seconds is a problem too: a
  wedged event loop is as bad as a dead one.
* ``/metrics`` is every worker's text with a ``worker="K"`` label added to
  each sample (so counters keep their meaning across a worker's restart:
  sum them by the labels you need; the gauges read from the database, such
  as ``hotline_tips``, are the same in every worker: take one, or ``max``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from .config import Config
from .errors import InstanceError
from .logging import get_logger

ANSWER_WITHIN = 5.0


@dataclass
class Slot:
    """One worker position: the process in it now and how often it was restarted."""

    index: int
    proc: asyncio.subprocess.Process | None = None
    lifeline: socket.socket | None = None
    ready: bool = False
    started_at: float = 0.0
    restarts: int = 0
    failures_in_a_row: int = 0
    next_start_at: float | None = None  # set while waiting out a backoff
    ops_socket: Path = field(default_factory=Path)

    def describe(self) -> dict[str, Any]:
        running = self.proc is not None and self.proc.returncode is None and self.ready
        out: dict[str, Any] = {"worker": self.index, "running": running, "restarts": self.restarts,
                               "pid": self.proc.pid if running and self.proc else None}
        if self.next_start_at is not None:
            out["restart_in_s"] = round(max(0.0, self.next_start_at - time.monotonic()), 1)
        return out


@dataclass(frozen=True)
class _Workers:
    config: Config
    slots: list[Slot]


SUPERVISOR: web.AppKey[_Workers] = web.AppKey("supervisor", _Workers)


async def start_ops_listener(config: Config, slots: list[Slot]) -> web.AppRunner | None:
    """The supervisor's ops listener, answering for the workers in ``slots``."""
    host, port = config["ops.host"], config["ops.port"]
    if not port:
        return None
    app = web.Application(client_max_size=1024)
    app[SUPERVISOR] = _Workers(config, slots)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as e:
        await runner.cleanup()
        raise InstanceError(
            f"the ops listener cannot bind {host}:{port} ({e.strerror}): set ops.port "
            "(HOTLINE_OPS_PORT) to a free port, or 0 to turn it off") from None
    get_logger().info("service.listening", kind="ops", host=host, port=port)
    return runner


def _refusal(request: web.Request) -> web.Response | None:
    token = request.app[SUPERVISOR].config["ops.metrics_token"]
    given = request.headers.get("Authorization", "")
    if token and not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return _json({"error": "a metrics token is required"}, 401)
    return None


def _json(body: dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status,
                             headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


async def _ask(slot: Slot, path: str, authorization: str) -> tuple[int, str] | str:
    """(status, body) from the worker in ``slot``, or why it could not answer."""
    if not slot.ready or slot.proc is None or slot.proc.returncode is not None:
        wait = slot.describe().get("restart_in_s")
        return ("not running" + (f", restart {slot.restarts} in {wait} s" if wait is not None else
                                 ", starting"))
    headers = {"Authorization": authorization} if authorization else {}
    try:
        async with aiohttp.ClientSession(
                connector=aiohttp.UnixConnector(path=str(slot.ops_socket)),
                timeout=aiohttp.ClientTimeout(total=ANSWER_WITHIN)) as session, \
                session.get(f"http://worker{path}", headers=headers) as r:
            return r.status, await r.text()
    except (TimeoutError, aiohttp.ClientError, OSError):
        return f"did not answer within {ANSWER_WITHIN:g} s"


async def readyz(request: web.Request) -> web.Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    sup = request.app[SUPERVISOR]
    auth = request.headers.get("Authorization", "")
    answers = await asyncio.gather(*(_ask(s, "/readyz", auth) for s in sup.slots))
    problems: list[str] = []
    rules: set[str] = set()
    workers = []
    for slot, answer in zip(sup.slots, answers, strict=True):
        state = slot.describe()
        if isinstance(answer, str):
            problems.append(f"worker {slot.index}: {answer}")
            state["status"] = answer
        else:
            status, text = answer
            try:
                body = json.loads(text)
            except ValueError:
                body = {}
            state["status"] = body.get("status", f"HTTP {status}")
            problems += [f"worker {slot.index}: {p}" for p in body.get("problems", [])]
            if status != 200 and not body.get("problems"):
                problems.append(f"worker {slot.index}: answered HTTP {status}")
            if "rules" in body:
                rules.add(str(body["rules"]))
        workers.append(state)
    if len(rules) > 1:
        problems.append(f"rules: the workers run different rule sets ({', '.join(sorted(rules))}); "
                        "a reload is under way or failed on some")
    out = {"status": "not ready" if problems else "ready", "problems": problems,
           "rules": next(iter(rules)) if len(rules) == 1 else sorted(rules), "workers": workers}
    return _json(out, 503 if problems else 200)


async def metrics(request: web.Request) -> web.Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    sup = request.app[SUPERVISOR]
    auth = request.headers.get("Authorization", "")
    answers = await asyncio.gather(*(_ask(s, "/metrics", auth) for s in sup.slots))
    texts = [(slot.index, a[1]) for slot, a in zip(sup.slots, answers, strict=True)
             if not isinstance(a, str) and a[0] == 200]
    return web.Response(text=merge_metrics(texts),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8",
                                 "Cache-Control": "no-store"})


def merge_metrics(texts: list[tuple[int, str]]) -> str:
    """Prometheus text of several workers as one exposition: each family's HELP/TYPE once,
    then every worker's samples of it, each labelled with its worker."""
    families: dict[str, tuple[list[str], list[str]]] = {}
    for index, text in texts:
        current: tuple[list[str], list[str]] | None = None
        for line in text.splitlines():
            if line.startswith("# HELP ") or line.startswith("# TYPE "):
                name = line.split(" ", 3)[2]
                if name not in families:
                    families[name] = ([], [])
                current = families[name]
                if len(current[0]) < 2 and line not in current[0]:
                    current[0].append(line)
            elif line and not line.startswith("#") and current is not None:
                current[1].append(_with_worker(line, index))
    return "".join("\n".join(head + samples) + "\n" for head, samples in families.values())


def _with_worker(sample: str, index: int) -> str:
    label = f'worker="{index}"'
    name_end = min((i for i in (sample.find("{"), sample.find(" ")) if i >= 0), default=-1)
    if name_end < 0:
        return sample
    if sample[name_end] == "{":
        closing = sample.find("}", name_end)
        sep = "," if closing > name_end + 1 else ""
        return f"{sample[:name_end + 1]}{label}{sep}{sample[name_end + 1:]}"
    return f"{sample[:name_end]}{{{label}}}{sample[name_end:]}"
