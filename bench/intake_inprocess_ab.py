"""A/B of intake itself, in process: the code at REV against the working tree, interleaved.

Run:  .venv/bin/python bench/intake_inprocess_ab.py REV [--rounds 4] [--batches 15]

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
sys.path[:0] = [code]
from crypto import derive_receipt_keys
from hotline.config import load_config
from hotline.domain import Channel
from hotline.intake import Inbound
from hotline.logging import configure_logging
from hotline.services import Services
from hotline.store import used_once
sys.path.insert(0, bench)
from intake_load import CALM_TEXT, PAGING_TEXT, hotline_instance
TEXT = PAGING_TEXT if kind == "paging" else CALM_TEXT

async def report(s):
    key = os.urandom(32)  # a fresh form token's keyed hash, spent in the message's write
    def mark(conn, _tip, _message):
        used_once.mark_used(conn, key, 2**40, 0)
    return await s.intake.submit(Inbound(channel=Channel.WEB, text=TEXT, lang="en",
                                         receipt=derive_receipt_keys(secrets.token_bytes(16))),
                                 with_message=mark)

async def main():
    configure_logging("json", "warning", None)  # as the served instance runs (hotline.toml)
    root = hotline_instance(Path(tempfile.mkdtemp()) / "i", "http://127.0.0.1:1")
    s = await Services.open(load_config(root, {}), {})
    try:
        await asyncio.gather(*[report(s) for _ in range(32)])  # warm-up
        t, c = time.perf_counter(), time.process_time()
        for _ in range(batches):
            await asyncio.gather(*[report(s) for _ in range(32)])
        n = 32 * batches
        print(json.dumps({"wall_ms": 1000 * (time.perf_counter() - t) / n,
                          "cpu_ms": 1000 * (time.process_time() - c) / n}))
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
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hotline-ab-"))
    old = tmp / "code"
    old.mkdir()
    archive = subprocess.run(["git", "archive", args.rev], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    codes = {"tree": ROOT, args.rev: old}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in codes}
    for r in range(args.rounds):
        for name in (list(codes) if r % 2 == 0 else list(reversed(codes))):
            out = subprocess.run([sys.executable, "-c", CHILD, str(codes[name]), str(ROOT / "bench"),
                                  str(args.batches), "paging" if args.paging else "calm"], cwd=tmp, capture_output=True, text=True,
                                 check=True, env={**os.environ, "HOTLINE_LOG_LEVEL": "warning"})
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"round {r + 1} {name}: {results[name][-1]}", flush=True)
    print("\n| code | wall ms per report | CPU ms per report |\n|---|---|---|")
    for name, runs in results.items():
        cells = []
        for key in ("wall_ms", "cpu_ms"):
            values = [run[key] for run in runs]
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})")
        print(f"| {name} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
