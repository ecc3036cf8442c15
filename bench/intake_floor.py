"""The floor under a paging web report: what issue 16's "one fifth of a bare handler" leaves
per report, against what the product's contract makes every report cost, in one run.

Run:  .venv/bin/python bench/intake_floor.py [--rounds 3] [--duration 10] [--no-write]
Needs wrk. Appends the result to bench/RESULTS.md.

Why: after the cuts measured in RESULTS (the web path, the store, the reader over arrays),
the question is no longer where the time goes but whether the goal fits at all on this
machine. Two numbers answer it:

* **the budget**: the fair bare handler's throughput (``bench/bare_server.py``, the same
  body and ``wrk -t2 -c32`` flags as ``intake_load.py``), divided by five, is the target
  rate. At that rate the two cores give ``2000 / rate`` ms of CPU per report, of which
  the load generator on the same machine takes its share (wrk's own CPU per request,
  measured here from its rusage); a single CPython process also holds the GIL for at
  most ``1000 / rate`` ms per report (everything Python, on any thread, runs under it);
* **the floor**: the steps no design of this product can leave out of a report while
  keeping its guarantees, each timed warm, alone, in this process (CPU time, so the
  numbers are what the step costs at best, with no contention): the HTTP request and
  answer (the bare handler's own CPU per request, from the same wrk runs), the
  receipt's key pair, triage with the shipped rules and the second reader on the paging
  report, sealing the body to its two recipients (the on-call advocate and the recovery
  key: one X25519 per recipient plus the AEAD, as CRYPTO.md's v1 format requires),
  wrapping under the tip's storage key, and one durable SQLite commit shared by a group
  of 32 reports (WAL, ``synchronous=FULL``).

If the floor's sum exceeds the budget, no amount of glue-cutting reaches the goal in one
process on this machine; the remaining levers are the ones the contract rules out or the
scale-out issue provides (more processes, more cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from intake_load import PAGING_TEXT, add_load_flags, lua, run_wrk, start_bare  # noqa: E402
from results_md import publish  # noqa: E402

from crypto import EnvelopeContext, Identity, Recipient, derive_receipt_keys, new_storage_key, seal, wrap  # noqa: E402
from hotline.rules_holder import RulesHolder  # noqa: E402
from triage_rules import default_pack_dir  # noqa: E402


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def per_call_us(step: Callable[[], object], calls: int) -> float:
    """Median over 5 batches of the step's thread CPU per call, after a warm-up batch."""
    for _ in range(max(calls // 5, 1)):
        step()
    samples = []
    for _ in range(5):
        start = time.thread_time_ns()
        for _ in range(calls):
            step()
        samples.append((time.thread_time_ns() - start) / calls / 1000)
    return statistics.median(samples)


def durable_commit_us(tmp: Path, group: int, envelope_bytes: int) -> float:
    """Process CPU per report of one WAL, synchronous=FULL commit shared by ``group`` reports
    (a message row with its envelope, the tip row touched): the writer's least work."""
    conn = sqlite3.connect(tmp / "floor.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE tips (id TEXT PRIMARY KEY, updated_at TEXT)")
    conn.execute("CREATE TABLE messages (id TEXT PRIMARY KEY, tip_id TEXT, created_at TEXT,"
                 " urgency TEXT, envelope BLOB)")
    blob = os.urandom(envelope_bytes)
    groups = 60
    start = time.process_time()
    for g in range(groups):
        conn.execute("BEGIN IMMEDIATE")
        for i in range(group):
            key = f"{g}-{i}"
            conn.execute("INSERT INTO tips VALUES (?, ?)", (key, "2026-12-04T00:00:00Z"))
            conn.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?)",
                         (key, key, "2026-12-04T00:00:00Z", "high", blob))
        conn.execute("COMMIT")
    cpu = time.process_time() - start
    conn.close()
    return cpu / (groups * group) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    add_load_flags(ap)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="hotline-floor-"))

    # The budget: the fair bare handler, as intake_load.py runs it.
    bare = start_bare(tmp)
    rps: list[float] = []
    server_ms: list[float] = []
    wrk_ms: list[float] = []
    try:
        script = tmp / "bare.lua"
        lua(script, ["unused"], PAGING_TEXT, None)
        run_wrk(bare.url, script, args.warmup, args, bare.proc.pid, None)
        for r in range(args.rounds):
            before = _children_cpu()
            run = run_wrk(bare.url, script, args.duration, args, bare.proc.pid, None)
            wrk_ms.append(1000 * (_children_cpu() - before) / max(run.requests, 1))
            rps.append(run.rps)
            server_ms.append(run.cpu_ms)
            print(f"round {r + 1} bare: {run.rps:.0f} req/s, server {run.cpu_ms:.3f} ms/req, "
                  f"wrk {wrk_ms[-1]:.3f} ms/req", flush=True)
    finally:
        bare.proc.terminate()
        bare.proc.wait()

    # The floor: each step warm, alone, in this process.
    holder = RulesHolder([default_pack_dir()])
    decision = holder.triage(PAGING_TEXT, channel="web")
    body = json.dumps({"text": PAGING_TEXT, "lang": "en", "channel": "web",
                       "received_at": "2026-12-04T00:00:00Z",
                       "triage": decision.to_json()}).encode()
    people = [Identity.generate("alice"), Identity.generate("recovery")]
    recipients = [Recipient(p.fingerprint, p.box_public) for p in people]
    ctx = EnvelopeContext("inst", "tip-1", "msg-1", "in", "web")
    storage_key = new_storage_key()
    sealed = seal(ctx, body, recipients)
    steps: list[tuple[str, float]] = [
        ("HTTP request and answer (the bare handler's server CPU, above)", 1000 * statistics.median(server_ms)),
        ("the receipt's key pair (`derive_receipt_keys`)",
         per_call_us(lambda: derive_receipt_keys(secrets.token_bytes(16)), 400)),
        ("triage: shipped rules + second reader, the 1.5 KB paging report",
         per_call_us(lambda: holder.triage(PAGING_TEXT, channel="web"), 200)),
        (f"seal the {len(body)}-byte body to 2 recipients (v1: X25519 each + AEAD)",
         per_call_us(lambda: seal(ctx, body, recipients), 400)),
        ("wrap the envelope under the tip's storage key",
         per_call_us(lambda: wrap(storage_key, sealed.envelope, label="tip-1"), 2000)),
        ("one durable commit shared by 32 reports (per report)",
         durable_commit_us(tmp, 32, len(sealed.envelope))),
    ]
    shutil.rmtree(tmp, ignore_errors=True)

    bare_rps = statistics.median(rps)
    target = bare_rps / 5
    machine_ms = 2000 / target
    wrk_share = statistics.median(wrk_ms)
    cpu_budget = machine_ms - wrk_share
    gil_budget = 1000 / target
    floor = sum(us for _, us in steps) / 1000
    rows = "\n".join(f"| {name} | {us:.0f} |" for name, us in steps)
    fmt = "{:.0f} ({:.0f}–{:.0f})"
    report = f"""
## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — issue 16: the floor under a paging report vs one fifth of bare

Command: `.venv/bin/python bench/intake_floor.py {' '.join(sys.argv[1:])}`
Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, \
{len(os.sched_getaffinity(0))} cores (load average at the end {os.getloadavg()[0]:.1f}); \
`wrk -t{args.threads} -c{args.connections}`, {args.warmup} s warm-up, {args.rounds} × {args.duration} s.

The budget: bare handler {fmt.format(bare_rps, min(rps), max(rps))} req/s; one fifth is
**{target:.0f} reports/s**. At that rate the machine has {machine_ms:.3f} ms of CPU per report;
wrk takes {wrk_share:.3f} ms per request (its own rusage during the bare runs), leaving
**{cpu_budget:.3f} ms of server CPU per report**, and one process holds the GIL for at most
**{gil_budget:.3f} ms per report**. (Issue 16's own CPU goal is 0.8 ms.)

The floor, each step warm and alone (thread CPU, µs per report; the commit's is process CPU):

| step no report can skip | µs |
|---|---:|
{rows}
| **sum** | **{floor * 1000:.0f}** |

Floor / server CPU budget = **{floor / cpu_budget:.2f}**; floor / GIL budget = **{floor / gil_budget:.2f}**.
"""
    publish(report, append=not args.no_write)


if __name__ == "__main__":
    main()
