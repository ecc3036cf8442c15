"""What one web report costs the database writer thread, at REV and in the tree, interleaved.

Run:  .venv/bin/python bench/writer_cost.py REV [--rounds 4] [--batches 15] [--pg-cluster]

Why: with one process the writer thread's Python competes with the event loop
for the GIL, so every statement, savepoint and line of bookkeeping per job is
paid by intake throughput. This drives ``Services.intake`` in process exactly as
the web channel does (the used-set read, then the report with the form token
marked used in the message's own transaction; 32 reports in flight), calm
reports and paging ones apart, and reads per report:

- the writer thread's own CPU (``pthread_getcpuclockid`` on that thread),
- the statements the writer's connection ran (SQLite's trace callback, in a
  separate short pass; the transaction and savepoint statements counted apart;
  on PostgreSQL, ``--pg-cluster``: the statements the writer's connection
  adapter was asked to run, each ``executemany`` row one, and the pipeline
  syncs, i.e. the round trips a batch waited for besides BEGIN and COMMIT),
- the whole process's CPU (all threads) and the wall time.

Every report is stored durably as in the server (WAL, ``synchronous=FULL``;
``--pg-cluster``: a throwaway cluster from tests/helpers/pg_cluster.py with
fsync on, a fresh database per run, the page worker's jobs counted too).
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
db_url = sys.argv[5] if len(sys.argv) > 5 else ""
sys.path[:0] = [code]
import subprocess
from crypto import derive_receipt_keys
from hotline.config import load_config
from hotline.domain import Channel
from hotline.intake import Inbound
from hotline.services import Services
from hotline.store import used_once
sys.path.insert(0, bench)
from intake_load import CALM_TEXT, PAGING_TEXT, hotline_instance

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
seen = {"sql": 0, "control": 0, "syncs": 0}
counting = {"on": False}

def trace(sql):
    seen["control" if sql.lstrip().upper().startswith(CONTROL) else "sql"] += 1

def count_pg(conn):
    # Count on the writer's PostgreSQL connection adapter (only while counting is on).
    execute, executemany, settle = conn.execute, conn.executemany, conn.settle
    def ex(sql, params=()):
        if counting["on"]:
            trace(sql)
        return execute(sql, params)
    def exm(sql, seq):
        seq = list(seq)
        if counting["on"]:
            for _ in seq:
                trace(sql)
        return executemany(sql, seq)
    def st():
        if counting["on"] and conn._pipeline is not None and conn._unsettled:
            seen["syncs"] += 1
        return settle()
    conn.execute, conn.executemany, conn.settle = ex, exm, st

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
    if not db_url:
        await s.db.write(lambda conn: conn.set_trace_callback(trace))  # on the writer's thread
    seen["sql"] = seen["control"] = seen["syncs"] = 0
    counting["on"] = True
    for _ in range(2):
        await asyncio.gather(*[report(s, text) for _ in range(32)])
    counting["on"] = False
    if not db_url:
        await s.db.write(lambda conn: conn.set_trace_callback(None))
    out.update(sql=seen["sql"] / 64, control=seen["control"] / 64, syncs=seen["syncs"] / 64)
    return out

def pg_instance(root, url):
    env = {**os.environ, "PYTHONPATH": code, "HOTLINE_PASSPHRASE": "bench only"}
    subprocess.run([sys.executable, "-m", "hotline.cli.main", "init", str(root), "--database", url,
                    "--recovery-key-out", str(root.parent / "rk"), "--public-url",
                    "http://127.0.0.1:1"], check=True, capture_output=True, cwd=code, env=env)
    from crypto import Identity
    from hotline.domain import Role
    from hotline.instance_setup import add_advocate, set_on_call
    add_advocate(root, Identity.generate("alice").public, name="alice", role=Role.ADVOCATE)
    set_on_call(root, ["alice"])
    config = root / "hotline.toml"
    config.write_text(config.read_text().replace('log_level = "info"', 'log_level = "warning"'))
    return root

async def main():
    where = Path(tempfile.mkdtemp()) / "i"
    root = pg_instance(where, db_url) if db_url else hotline_instance(where, "http://127.0.0.1:1")
    s = await Services.open(load_config(root, {}), {})
    try:
        if db_url:
            await s.db.write(count_pg)
        clock = time.pthread_getcpuclockid(s.db.writer._thread.ident)
        texts = {"calm": CALM_TEXT, "paging": PAGING_TEXT}
        out = {kind: await measure(s, texts[kind], clock) for kind in order.split(",")}
        print(json.dumps(out))
    finally:
        await s.close()

asyncio.run(main())
"""

KEYS = ("writer_ms", "sql", "control", "syncs", "cpu_ms", "wall_ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rev")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--batches", type=int, default=15)
    ap.add_argument("--pg-cluster", action="store_true",
                    help="PostgreSQL: a throwaway cluster (fsync on), a fresh database per run")
    args = ap.parse_args()
    cluster = None
    if args.pg_cluster:
        sys.path.insert(0, str(ROOT))
        from tests.helpers.pg_cluster import start_cluster

        sys.path.insert(0, str(ROOT / "bench"))
        from scale import durable

        cluster = start_cluster()
        durable(cluster)
    try:
        run(args, cluster)
    finally:
        if cluster is not None:
            cluster.close()


def run(args: argparse.Namespace, cluster: object) -> None:
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
            url = cluster.new_database() if cluster is not None else ""  # type: ignore[attr-defined]
            out = subprocess.run([sys.executable, "-c", CHILD, str(codes[name]), str(ROOT / "bench"),
                                  str(args.batches), order, url], cwd=tmp, capture_output=True,
                                 text=True, check=True,
                                 env={**os.environ, "HOTLINE_LOG_LEVEL": "warning"})
            got = json.loads(out.stdout.strip().splitlines()[-1])
            for kind, values in got.items():
                results.setdefault((name, kind), []).append(values)
            print(f"round {r + 1} {name}: {got}", flush=True)
    print(f"\n{'PostgreSQL' if cluster is not None else 'SQLite'}\n"
          "| code | report | writer thread CPU ms | statements | BEGIN/COMMIT/SAVEPOINT… "
          "| pipeline syncs | process CPU ms | wall ms |\n|---|---|---|---|---|---|---|---|")
    for (name, kind), runs in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0] != "tree")):
        cells = []
        for key in KEYS:
            values = [run[key] for run in runs]
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})")
        print(f"| {name} | {kind} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
