"""Advocate inbox at 10,000 tips: first page, deep pages, a whole walk (issue 12 §6).

Run (after):   .venv/bin/python bench/inbox_scale.py --label after
Run (before):  git archive <old commit> | tar -x -C /tmp/before
               .venv/bin/python bench/inbox_scale.py --code /tmp/before --label before

``--code`` is the source tree whose ``hotline`` is measured (default: this
checkout): its own migrations build the database and its own ``hotline serve``
answers, so both sides run their own code on the same machine with the same
data shape. The database is filled directly (10,000 tips, 3 messages each,
audit rows as intake and reading leave them), which is what the inbox reads;
sealing 30,000 messages would measure the intake, not the inbox.

Measured over real HTTP (urllib, one client, keep-alive off as the CLI does):
- first page: ``GET /api/tips`` as the console and ``hotline inbox`` send it
  (the old API answers with every tip; the new one with its default page);
- a filtered first page (``status=new``; the old API ignores the parameter);
- deep pages: every page of a walk with ``limit=50`` (the old API: one request
  holds the whole list); the whole walk's wall time, and with ``limit=200``
  (what ``hotline inbox --all`` and ``read --all`` use);
- the response sizes, and SQLite's query plan for the page query.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

URGENCY = [("critical", 0.02), ("high", 0.10), ("normal", 0.50), ("low", 0.38)]
STATUS = [("closed", 0.70), ("new", 0.10), ("acknowledged", 0.10), ("in_progress", 0.10)]
CHANNELS = ["web", "sms", "voice", "whatsapp"]
REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def pick(rng: random.Random, table: list[tuple[str, float]]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def fill(db: Path, n: int, seed: int = 12) -> None:
    """``n`` tips shared with alice (advocate 1) and half with bob, as intake leaves them."""
    rng = random.Random(seed)
    conn = sqlite3.connect(db, isolation_level=None)
    has_channel = any(r[1] == "channel" for r in conn.execute("PRAGMA table_info(messages)"))
    start = datetime.now(UTC) - timedelta(days=365)
    conn.execute("BEGIN")
    refs: set[str] = set()
    for i in range(n):
        tip_id = "t" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(26))
        while True:
            ref = "".join(rng.choice(REF_ALPHABET) for _ in range(6))
            ref = ref[:3] + "-" + ref[3:]
            if ref not in refs:
                refs.add(ref)
                break
        created = start + timedelta(seconds=i * 365 * 86400 // n + rng.randrange(60))
        stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        channel = CHANNELS[i % 4]
        conn.execute(
            "INSERT INTO tips (id, ref, channel, urgency, urgency_source, status, created_at,"
            " updated_at) VALUES (?,?,?,?, 'rules', ?,?,?)",
            (tip_id, ref, channel, pick(rng, URGENCY), pick(rng, STATUS), stamp, stamp))
        conn.execute("INSERT INTO tip_advocates VALUES (?, 1)", (tip_id,))
        if i % 2:
            conn.execute("INSERT INTO tip_advocates VALUES (?, 2)", (tip_id,))
        for seq, direction in enumerate(("in", "out", "note"), start=1):
            mid = "m" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(26))
            envelope = rng.randbytes(1200)
            if has_channel:
                conn.execute("INSERT INTO messages (id, tip_id, seq, direction, created_at,"
                             " envelope, channel) VALUES (?,?,?,?,?,?,?)",
                             (mid, tip_id, seq, direction, stamp, envelope, channel))
            else:
                conn.execute("INSERT INTO messages (id, tip_id, seq, direction, created_at,"
                             " envelope) VALUES (?,?,?,?,?,?)",
                             (mid, tip_id, seq, direction, stamp, envelope))
            conn.execute("INSERT INTO audit (at, actor, action, tip_id, detail) VALUES"
                         " (?, 'intake', 'message.received', ?, 'channel=x')", (stamp, tip_id))
        if rng.random() < 0.8:  # alice read most of them, some twice
            for _ in range(rng.choice((1, 1, 2))):
                conn.execute("INSERT INTO audit (at, actor, action, tip_id, detail) VALUES"
                             " (?, ?, 'tip.fetch', ?, 'messages=3')", (stamp, FP[0], tip_id))
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


FP: list[str] = []


def get(url: str, token: str) -> tuple[float, int, dict[str, Any]]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        body = r.read()
    return time.perf_counter() - t0, len(body), json.loads(body)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def query_plan(db: Path, advocate_fp: str) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        try:
            from hotline.store.inbox import InboxPlace, InboxQuery, inbox_sql
        except ImportError:  # the code before pages: one query for every tip
            sql = ("SELECT t.id FROM tips t JOIN tip_advocates ta ON ta.tip_id = t.id"
                   " WHERE ta.advocate_id = ? ORDER BY CASE t.urgency WHEN 'critical' THEN 0"
                   " WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, t.created_at")
            params: list[Any] = [1]
        else:
            sql, params = inbox_sql(InboxQuery(1, advocate_fp, 50,
                                               InboxPlace(2, "2026-06-01T00:00:00Z", "t" + "a" * 26)))
        return [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--code", type=Path, default=ROOT, help="source tree to measure")
    ap.add_argument("--label", default="after")
    ap.add_argument("--tips", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=20, help="first-page requests")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.code.resolve()))
    os.environ["PYTHONPATH"] = str(args.code.resolve())
    from hotline.client.advocate import AdvocateClient
    from tests.helpers.instance import make_instance
    from tests.helpers.process import ServerProcess

    with tempfile.TemporaryDirectory() as tmp:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        inst = make_instance(Path(tmp), public_url=f"http://127.0.0.1:{port}")
        FP.append(inst.alice.fingerprint)
        db = inst.root / "hotline.db"
        t0 = time.perf_counter()
        fill(db, args.tips)
        fill_s = time.perf_counter() - t0
        plan = query_plan(db, inst.alice.fingerprint)
        # A hold keeps retention from shredding the year-old closed tips mid-walk.
        server = ServerProcess(inst.root, port, {"PYTHONPATH": str(args.code.resolve()),
                                                 "HOTLINE_RETENTION_HOLD": "true"}).start()
        try:
            client = AdvocateClient(server.url, inst.alice)
            client.login()
            token = client.http.token
            assert token
            base = f"{server.url}/api/tips"
            get(base, token)  # warm-up
            first = [get(base, token) for _ in range(args.rounds)]
            filtered = [get(base + "?status=new", token) for _ in range(args.rounds)]
            walk_t0 = time.perf_counter()
            pages = [get(base + "?limit=50", token)]
            while pages[-1][2].get("next"):
                pages.append(get(f"{base}?limit=50&after={pages[-1][2]['next']}", token))
            walk_s = time.perf_counter() - walk_t0
            big_t0 = time.perf_counter()  # the largest pages, as `hotline inbox --all` walks
            big = [get(base + "?limit=200", token)]
            while big[-1][2].get("next"):
                big.append(get(f"{base}?limit=200&after={big[-1][2]['next']}", token))
            big_s = time.perf_counter() - big_t0
        finally:
            server.stop()
    seen = sum(len(p[2]["tips"]) for p in pages)
    out = {
        "label": args.label, "tips": args.tips, "fill_s": round(fill_s, 1),
        "first_page_tips": len(first[0][2]["tips"]), "first_page_bytes": first[0][1],
        "first_p50_ms": round(statistics.median(x[0] for x in first) * 1000, 1),
        "first_p99_ms": round(pct([x[0] for x in first], 99) * 1000, 1),
        "filtered_tips": len(filtered[0][2]["tips"]),
        "filtered_p50_ms": round(statistics.median(x[0] for x in filtered) * 1000, 1),
        "walk_requests": len(pages), "walk_tips": seen, "walk_s": round(walk_s, 2),
        "page_p50_ms": round(statistics.median(p[0] for p in pages) * 1000, 1),
        "page_p99_ms": round(pct([p[0] for p in pages], 99) * 1000, 1),
        "deep_page_ms": round(pages[len(pages) * 9 // 10][0] * 1000, 1),
        "walk200_requests": len(big), "walk200_s": round(big_s, 2),
        "plan": plan,
        "machine": f"{platform.machine()}, CPython {platform.python_version()}, "
                   f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
