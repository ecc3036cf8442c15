"""A/B of intake itself, in process: the code at REV against the working tree, interleaved.

Run:  .venv/bin/python bench/intake_inprocess_ab.py REV [--rounds 4] [--batches 15]
          [--paging] [--no-reader] [--web]

``--web`` drives the whole web path instead of intake alone: each post is an
aiohttp request (made off the clock, with no mocks on the path) handed to the
application, so the middlewares, the form, the token check, intake, the
receipt cookie and the answer's headers are measured; no socket, no HTTP
parser (the same for every handler, the bare one included). ``--no-reader``
turns the second reader off on both sides, to see the rest of a paging
report. Besides wall and CPU per report it reads the event loop thread's own
CPU and its time in the cyclic garbage collector (total and longest pass).

Why beside ``intake_load.py``: on a shared 2-core machine the HTTP bench's
numbers swing by 2x between rounds; this one drives ``Services.intake``
directly (32 reports in flight at a time, as the web channel hands them
over: receipt keys derived, the token's single use checked in the write),
so HTTP parsing
and wrk share nothing with the measurement and the two codes alternate
round by round. It prints wall seconds and process CPU per report (all
threads), median and range. Every report is stored durably, as in the
server (WAL, ``synchronous=FULL``, key store and database).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import asyncio, json, os, secrets, sys, tempfile, time
from pathlib import Path
code, bench, batches, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
env = json.loads(sys.argv[5])
sys.path[:0] = [code]
from crypto import derive_receipt_keys
from hotline.config import load_config
from hotline.domain import Channel
from hotline.intake import Inbound
from hotline.logging import configure_logging
from hotline.services import Services
from hotline.store import used_once
sys.path.insert(0, bench)
from intake_load import CALM_TEXT, CTYPE, PAGING_TEXT, body, hotline_instance
TEXT = PAGING_TEXT if kind.endswith("paging") else CALM_TEXT

async def report(s):
    key = os.urandom(32)  # a fresh form token's keyed hash, spent in the message's write
    def mark(conn, _tip, _message):
        used_once.mark_used(conn, key, 2**40, 0)
    return await s.intake.submit(Inbound(channel=Channel.WEB, text=TEXT, lang="en",
                                         receipt=derive_receipt_keys(secrets.token_bytes(16))),
                                 with_message=mark)

import gc, threading
GC = [0, 0, 0]  # the event loop thread's CPU ns in the cyclic collector, passes, longest pass
def _gc_clock(phase, _info, _started=[0]):
    if threading.current_thread() is threading.main_thread():
        if phase == "start":
            _started[0] = time.thread_time_ns()
        else:
            took = time.thread_time_ns() - _started[0]
            GC[0] += took
            GC[1] += 1
            GC[2] = max(GC[2], took)
gc.callbacks.append(_gc_clock)

class Body:  # a request body already received, as aiohttp's payload reader hands it over
    def __init__(self, data):
        self._chunks = [b"", data]
    async def readany(self):
        return self._chunks.pop()
    def set_read_chunk_size(self, _size):
        pass
    def at_eof(self):
        return len(self._chunks) == 1

class Peer:  # the connection, as much of it as a request reads (no mock: mocks cost per access)
    ssl_context, peername, sockname, transport, writer = None, ("127.0.0.1", 40000), None, None, None

async def web_main(root):
    # The whole web path in process: the application's middlewares, the form, the token,
    # intake, the receipt cookie and the answer's headers; no socket, no HTTP parser.
    from aiohttp import web
    from aiohttp.http_writer import _serialize_headers
    from aiohttp.test_utils import make_mocked_request
    from hotline import csrf
    from hotline.app import make_app
    from hotline.services import SERVICES
    app = make_app(root, env)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    s = app[SERVICES]
    cookie = csrf.new_cookie_value()

    def requests(n):  # made before the clock starts: a browser's GET / minted each token
        out = []
        for _ in range(n):
            data = body(csrf.issue(s.secret, cookie, now=time.time() - 30), TEXT).encode()
            out.append(make_mocked_request("POST", "/report", headers={
                "Content-Type": CTYPE, "Content-Length": str(len(data)),
                "Cookie": f"{csrf.COOKIE}={cookie}", "Sec-Fetch-Site": "same-origin"},
                app=app, payload=Body(data), protocol=Peer(), transport=None, writer=None))
        return out

    async def post(request):
        response = await app._handle(request)
        assert response.status == 303, response.status
        for morsel in (response.cookies or {}).values():  # as aiohttp's prepare does
            response.headers.add("Set-Cookie", morsel.output(header="")[1:])
        _serialize_headers("HTTP/1.1 303 See Other", response.headers)

    try:
        await asyncio.gather(*[post(r) for r in requests(32)])  # warm-up
        wall = cpu = loop = 0.0
        GC[:] = [0, 0, 0]
        for _ in range(batches):  # each batch's requests made just before it, off the clock
            batch = requests(32)
            t, c, lt = time.perf_counter(), time.process_time(), time.thread_time()
            await asyncio.gather(*[post(r) for r in batch])
            wall += time.perf_counter() - t
            cpu += time.process_time() - c
            loop += time.thread_time() - lt
        n = 32 * batches
        print(json.dumps({"wall_ms": 1000 * wall / n, "cpu_ms": 1000 * cpu / n,
                          "loop_ms": 1000 * loop / n, "gc_ms": GC[0] / 1e6 / n,
                          "gc_longest_ms": GC[2] / 1e6}))
    finally:
        await runner.cleanup()

async def main():
    configure_logging("json", "warning", None)  # as the served instance runs (hotline.toml)
    root = hotline_instance(Path(tempfile.mkdtemp()) / "i", "http://127.0.0.1:1")
    if kind.startswith("web-"):
        return await web_main(root)
    s = await Services.open(load_config(root, env), env)
    try:
        await asyncio.gather(*[report(s) for _ in range(32)])  # warm-up
        GC[:] = [0, 0, 0]
        t, c, loop = time.perf_counter(), time.process_time(), time.thread_time()
        for _ in range(batches):
            await asyncio.gather(*[report(s) for _ in range(32)])
        n = 32 * batches
        print(json.dumps({"wall_ms": 1000 * (time.perf_counter() - t) / n,
                          "cpu_ms": 1000 * (time.process_time() - c) / n,
                          "loop_ms": 1000 * (time.thread_time() - loop) / n,
                          "gc_ms": GC[0] / 1e6 / n, "gc_longest_ms": GC[2] / 1e6}))
    finally:
        await s.close()

asyncio.run(main())
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rev")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--batches", type=int, default=15)
    ap.add_argument("--paging", action="store_true", help="the paging report (rated high)")
    ap.add_argument("--web", action="store_true",
                    help="the whole web path in process (the application's middlewares, form, "
                         "token, intake, receipt cookie, headers), not intake alone")
    ap.add_argument("--no-reader", action="store_true",
                    help="the second reader off (rules.reader = false) on both sides, to see the "
                         "rest of a paging report's cost apart from it")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hotline-ab-"))
    old = tmp / "code"
    old.mkdir()
    archive = subprocess.run(["git", "archive", args.rev], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    codes = {"tree": ROOT, args.rev: old}
    env = {"HOTLINE_RULES_READER": "false"} if args.no_reader else {}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in codes}
    for r in range(args.rounds):
        for name in (list(codes) if r % 2 == 0 else list(reversed(codes))):
            out = subprocess.run([sys.executable, "-c", CHILD, str(codes[name]), str(ROOT / "bench"),
                                  str(args.batches),
                                  ("web-" if args.web else "") + ("paging" if args.paging else "calm"),
                                  json.dumps(env)], cwd=tmp, capture_output=True, text=True,
                                 check=True, env={**os.environ, "HOTLINE_LOG_LEVEL": "warning"})
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"round {r + 1} {name}: {results[name][-1]}", flush=True)
    print("\n| code | wall ms per report | CPU ms per report | of it the event loop thread |"
          " of it in the cyclic GC | longest GC pass ms |\n|---|---|---|---|---|---|")
    for name, runs in results.items():
        cells = []
        for key in ("wall_ms", "cpu_ms", "loop_ms", "gc_ms", "gc_longest_ms"):
            values = [run[key] for run in runs]
            digits = 3 if key == "gc_ms" else 2
            cells.append(f"{statistics.median(values):.{digits}f} "
                         f"({min(values):.{digits}f}–{max(values):.{digits}f})")
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
