"""What one web report costs the database writer thread, at REV and in the tree, interleaved.

Run:  .venv/bin/python bench/writer_cost.py REV [--rounds 4] [--batches 15]

Why: with one process the writer thread's Python competes with the event loop
for the GIL, so every statement, savepoint and line of bookkeeping per job is
paid by intake throughput. This drives ``Services.intake`` in process exactly as
the web channel does (the used-set read, then the report with the form token
marked used in the message's own transaction; 32 reports in flight), calm
reports and paging ones apart, and reads per report:

- the writer thread's own CPU (``pthread_getcpuclockid`` on that thread),
- the statements the writer's connection ran (SQLite's trace callback, in a
  separate short pass; the transaction and savepoint statements counted apart),
- the whole process's CPU (all threads) and the wall time.

Every report is stored durably as in the server (WAL, ``synchronous=FULL``).
Median (min–max) over rounds that alternate the two codes.
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
code, bench, batches, order = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sys.path[:0] = [code]
from crypto import derive_receipt_keys
from hotline.config import load_config
from hotline.domain import Channel
from hotline.intake import Inbound
from hotline.services import Services
from hotline.store import used_once
sys.path.insert(0, bench)
from intake_load import CALM_TEXT, PAGING_TEXT, hotline_instance

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
seen = {"sql": 0, "control": 0}

def trace(sql):
    seen["control" if sql.lstrip().upper().startswith(CONTROL) else "sql"] += 1

async def report(s, text):
    key, now = os.urandom(32), int(time.time())
    await used_once.find(s.db, key, now)  # the web channel's used-set read
    def mark(conn, tip_id, message_id):
        used_once.mark_used(conn, key, now + 3600, now)
    return await s.intake.submit(Inbound(channel=Channel.WEB, text=text, lang="en",
                                         receipt=derive_receipt_keys(secrets.token_bytes(16))),
                                 with_message=mark)

async def measure(s, text, clock):
    await asyncio.gather(*[report(s, text) for _ in range(32)])  # warm-up
    t, c, w = time.perf_counter(), time.process_time(), time.clock_gettime(clock)
    for _ in range(batches):
        await asyncio.gather(*[report(s, text) for _ in range(32)])
    n = 32 * batches
    out = {"wall_ms": 1000 * (time.perf_counter() - t) / n,
           "cpu_ms": 1000 * (time.process_time() - c) / n,
           "writer_ms": 1000 * (time.clock_gettime(clock) - w) / n}
    # Statements counted apart, in a short traced pass: tracing itself costs the writer CPU.
    await s.db.write(lambda conn: conn.set_trace_callback(trace))  # on the writer's thread
    seen["sql"] = seen["control"] = 0
    for _ in range(2):
        await asyncio.gather(*[report(s, text) for _ in range(32)])
    await s.db.write(lambda conn: conn.set_trace_callback(None))
    out.update(sql=seen["sql"] / 64, control=seen["control"] / 64)
    return out

async def main():
    root = hotline_instance(Path(tempfile.mkdtemp()) / "i", "http://127.0.0.1:1")
    s = await Services.open(load_config(root, {}), {})
    try:
        clock = time.pthread_getcpuclockid(s.db.writer._thread.ident)
        texts = {"calm": CALM_TEXT, "paging": PAGING_TEXT}
        out = {kind: await measure(s, texts[kind], clock) for kind in order.split(",")}
        print(json.dumps(out))
    finally:
        await s.close()

asyncio.run(main())
"""

KEYS = ("writer_ms", "sql", "control", "cpu_ms", "wall_ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rev")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--batches", type=int, default=15)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hotline-writer-ab-"))
    old = tmp / "code"
    old.mkdir()
    archive = subprocess.run(["git", "archive", args.rev], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    codes = {"tree": ROOT, args.rev: old}
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for r in range(args.rounds):
        order = "calm,paging" if r % 2 == 0 else "paging,calm"
        for name in (list(codes) if r % 2 == 0 else list(reversed(codes))):
            out = subprocess.run([sys.executable, "-c", CHILD, str(codes[name]), str(ROOT / "bench"),
                                  str(args.batches), order], cwd=tmp, capture_output=True,
                                 text=True, check=True,
                                 env={**os.environ, "HOTLINE_LOG_LEVEL": "warning"})
            got = json.loads(out.stdout.strip().splitlines()[-1])
            for kind, values in got.items():
                results.setdefault((name, kind), []).append(values)
            print(f"round {r + 1} {name}: {got}", flush=True)
    print("\n| code | report | writer thread CPU ms | statements | BEGIN/COMMIT/SAVEPOINT… "
          "| process CPU ms | wall ms |\n|---|---|---|---|---|---|---|")
    for (name, kind), runs in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0] != "tree")):
        cells = []
        for key in KEYS:
            values = [run[key] for run in runs]
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})")
        print(f"| {name} | {kind} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
