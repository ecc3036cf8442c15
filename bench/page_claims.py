"""Page claims: how fast due pages drain through one page worker, and through two on one file.

Run:  .venv/bin/python bench/page_claims.py [--pages 2000] [--rounds 3]
Appends a section to bench/RESULTS.md.

In-process: a real instance (real SQLite, migrated), ``--pages`` critical tips
whose first page is due now, and one or two ``PageWorker``s (each with its own
``Database`` on the file: two writer threads, as two processes would have)
turning until every page is recorded sent. The notifier accepts at once, so
what is measured is the worker's own cost per page: the claim (one writer job
per batch), the "sending" mark and the outcome (one writer job each per
page), and the reads of a turn. Rounds alternate one and two workers.

Baseline: ``--baseline FILE`` names the worker before leases (e.g.
``git show 9aed3d0:hotline/paging/worker.py > worker_before.py``), loaded
as a module of ``hotline.paging`` and run alone on the same pages (it read the
due rows and sent them, with no claim and no "sending" mark; two of it on one
file send every page twice, see tests/paging/test_leases.py).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline.domain import new_tip_id, new_tip_ref  # noqa: E402
from hotline.logging import configure_logging  # noqa: E402
from hotline.paging.escalation import EscalationPolicy, Level, TipRef, start  # noqa: E402
from hotline.paging.notifiers import Notice  # noqa: E402
from hotline.paging.store import open_escalation  # noqa: E402
from hotline.paging.worker import PageWorker  # noqa: E402
from hotline.store import Database  # noqa: E402
from tests.helpers.instance import make_instance  # noqa: E402
from triage_rules import Urgency  # noqa: E402

POLICY = EscalationPolicy((Level(("alice",), timedelta(minutes=5)),))


class Accept:
    kind = "console"

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, notice: Notice, target: str | None) -> str:
        self.sent += 1
        return "ok"


def _pages(root: Path, count: int, at: datetime) -> None:
    conn = sqlite3.connect(root / "hotline.db", isolation_level=None)
    people = {name: i for i, name in conn.execute("SELECT id, name FROM advocates")}
    conn.execute("BEGIN")
    for _ in range(count):
        tip_id, ref, stamp = new_tip_id(), new_tip_ref(), at.isoformat()
        conn.execute("INSERT INTO tips (id, ref, channel, urgency, urgency_source, status,"
                     " created_at, updated_at) VALUES (?,?,'web','critical','rules','new',?,?)",
                     (tip_id, ref, stamp, stamp))
        open_escalation(conn, tip_id, start(POLICY, None, TipRef(ref), Urgency.CRITICAL, at),
                        stamp, people, at)
    conn.execute("COMMIT")
    conn.close()


def load_baseline(path: str) -> type:
    spec = importlib.util.spec_from_file_location("hotline.paging._baseline_worker", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.PageWorker  # type: ignore[no-any-return]


async def one_round(pages: int, workers: int, baseline: type | None = None
                    ) -> tuple[float, int, int]:
    tmp = Path(tempfile.mkdtemp(prefix="hotline-claims-bench-"))
    root = make_instance(tmp).root
    now = datetime.now(UTC)
    _pages(root, pages, now)
    dbs, ws, accepts = [], [], []
    for i in range(workers):
        db = Database(root / "hotline.db")
        await db.open()
        accept = Accept()
        dbs.append(db)
        accepts.append(accept)
        if baseline is not None:
            ws.append(baseline(db=db, notifiers={"console": accept}, backoff=(1.0,),
                               clock=lambda: now))
        else:
            ws.append(PageWorker(db=db, notifiers={"console": accept}, backoff=(1.0,),
                                 clock=lambda: now, owner=f"w{i}"))
    started = time.perf_counter()
    while sum(a.sent for a in accepts) < pages:
        await asyncio.gather(*(w.run_once() for w in ws))
        for w in ws:
            while w._inflight:  # the baseline has no drain()
                await asyncio.gather(*w._inflight.values(), return_exceptions=True)
    elapsed = time.perf_counter() - started
    commits = sum(db.writer.stats.batches for db in dbs)
    recorded = await dbs[0].fetchone("SELECT COUNT(*) FROM page_outbox WHERE status = 'sent'")
    for db in dbs:
        await db.close()
    sent = sum(a.sent for a in accepts)
    assert recorded is not None and recorded[0] == pages == sent, (recorded, sent)
    return elapsed, sent, commits


async def main(pages: int, rounds: int, baseline_path: str | None) -> str:
    configure_logging("json", "warning", None)
    baseline = load_baseline(baseline_path) if baseline_path else None
    results: dict[str, list[tuple[float, int, int]]] = {"1 (leases)": [], "2 (leases)": []}
    if baseline is not None:
        results["1 (before leases)"] = []
    for _ in range(rounds):
        for name in results:
            if name.startswith("1 (before"):
                results[name].append(await one_round(pages, 1, baseline))
            else:
                results[name].append(await one_round(pages, int(name[0])))
    lines = [f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — page claims: pages drained per second,"
             " one worker vs two on one SQLite file (issue 14)", "",
             f"Command: `.venv/bin/python bench/page_claims.py --pages {pages} --rounds {rounds}"
             + (" --baseline worker_before.py`" if baseline else "`"),
             f"Machine: {platform.machine()}, CPython {platform.python_version()}, 2 cores shared"
             " with other work (numbers are noisy); notifier accepts at once; rounds alternate.", "",
             "| workers | pages/s (min–max over rounds) | sent (each round) | group commits per page |",
             "|---|---|---|---|"]
    for workers, runs in results.items():
        rates = [sent / t for t, sent, _ in runs]
        per = [c / sent for _, sent, c in runs]
        lines.append(f"| {workers} | {min(rates):.0f}–{max(rates):.0f} |"
                     f" {', '.join(str(s) for _, s, _ in runs)} | {min(per):.2f}–{max(per):.2f} |")
    lines += ["", "Every round checked: each page recorded sent, and the notifier called exactly"
              " once per page (two workers racing as with one).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", help="the page worker before leases, as a file")
    args = ap.parse_args()
    section = asyncio.run(main(args.pages, args.rounds, args.baseline))
    print(section)
    with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
        f.write("\n" + section)
