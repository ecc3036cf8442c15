"""Paging latency: from an urgent message's commit to the page reaching Twilio.

Run:  .venv/bin/python bench/paging_latency.py [--reporters 32] [--per-reporter 10]
Appends a section to bench/RESULTS.md.

A real ``hotline serve`` process, the in-repo Twilio REST stand-in, and
``--reporters`` concurrent reporters each texting ``--per-reporter`` critical
messages from their own number (every message a new thread, so every message
opens an escalation and pages the on-call advocate by SMS). For each message:

* t0: the reporter sends the signed webhook;
* t1: the reporter has Twilio's answer — which the service gives only after
  the commit, so commit ∈ (t0, t1);
* t2: the page request (``Messages.json`` to the advocate) reaches the stand-in.

t2 − t1 is a lower bound of commit → page, t2 − t0 an upper bound. Pages are
matched to messages by tip reference: the benchmark logs in as the advocate
and decrypts each tip to learn its sender (the only way: the server cannot).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from hotline.client.advocate import AdvocateClient  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.helpers.instance import make_instance  # noqa: E402
from tests.helpers.process import ServerProcess  # noqa: E402
from tests.helpers.twilio_fake import FakeTwilio, Recorded, incoming_sms_form, signed_post  # noqa: E402
from tests.paging.helpers import ALICE_PHONE, set_contact  # noqa: E402
from tests.twilio.conftest import twilio_env  # noqa: E402

TEXT = "HELP ME NOW he is hurting me, he took my passport and I cannot leave"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(reporters: int, per: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="hotline-paging-bench-"))
    inst = make_instance(tmp)
    set_contact(inst.root, "alice", phone=ALICE_PHONE)
    fake = await FakeTwilio().start()
    arrivals: dict[str, float] = {}

    def observe(r: Recorded) -> None:
        if r.path.endswith("/Messages.json") and r.form.get("To") == ALICE_PHONE:
            body = r.form.get("Body", "")
            ref = body.split("tip ", 1)[1].split(" ", 1)[0]
            arrivals.setdefault(ref, time.perf_counter())

    fake.observers.append(observe)
    port = free_port()
    # Coalescing off: this measures the pipeline's own latency for every page; what a
    # flood costs with coalescing on is bench/flood.py's question.
    server = ServerProcess(inst.root, port,
                           env=twilio_env(fake, HOTLINE_PAGING_COALESCE_WINDOW="0s")).start()
    sent: dict[str, tuple[float, float]] = {}
    try:
        async with aiohttp.ClientSession() as session:
            async def reporter(i: int) -> None:
                for j in range(per):
                    number = f"+1415{i:03d}{j:04d}"
                    form = incoming_sms_form(account_sid=fake.account_sid, sender=number, body=TEXT)
                    t0 = time.perf_counter()
                    status, _ = await signed_post(session, server=server.url, path="/twilio/sms",
                                                  public_url=server.url, auth_token=fake.auth_token,
                                                  form=form)
                    assert status == 200, status
                    sent[number] = (t0, time.perf_counter())

            started = time.perf_counter()
            await asyncio.gather(*(reporter(i) for i in range(reporters)))
            elapsed = time.perf_counter() - started
            deadline = time.monotonic() + 30
            while len(arrivals) < reporters * per and time.monotonic() < deadline:  # noqa: ASYNC110 - polls another process's effect
                await asyncio.sleep(0.05)
        client = AdvocateClient(server.url, inst.alice)
        await asyncio.to_thread(client.login)
        opened = await asyncio.to_thread(lambda: [client.read(t["id"]) for t in client.inbox()])
    finally:
        server.stop()
        await fake.close()
    lower, upper = [], []
    for tip in opened:
        number = tip.messages[0]["sender"]
        t2 = arrivals.get(tip.tip["ref"])
        if t2 is None or number not in sent:
            continue
        t0, t1 = sent[number]
        lower.append((t2 - t1) * 1000)
        upper.append((t2 - t0) * 1000)
    return {"messages": reporters * per, "paged": len(lower), "elapsed": elapsed,
            "lower": lower, "upper": upper}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reporters", type=int, default=32)
    ap.add_argument("--per-reporter", type=int, default=10)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    r = asyncio.run(run(args.reporters, args.per_reporter))
    lower, upper = r["lower"], r["upper"]
    assert isinstance(lower, list) and isinstance(upper, list)
    lines = [
        "",
        f"## Paging latency — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `.venv/bin/python bench/paging_latency.py --reporters {args.reporters}"
        f" --per-reporter {args.per_reporter}` ({platform.machine()}, {os.cpu_count()} cores,"
        " shared machine; server, stand-in and reporters on one host)",
        "",
        f"{r['messages']} critical SMS webhooks from {args.reporters} concurrent reporters in"
        f" {r['elapsed']:.1f} s; {r['paged']} pages matched to their message.",
        "",
        "| commit → page request at the stand-in | p50 | p90 | p99 | max |",
        "|---|---|---|---|---|",
        f"| lower bound (after Twilio's answer) | {pct(lower, 50):.0f} ms | {pct(lower, 90):.0f} ms"
        f" | {pct(lower, 99):.0f} ms | {max(lower):.0f} ms |",
        f"| upper bound (from the webhook's send) | {pct(upper, 50):.0f} ms | {pct(upper, 90):.0f} ms"
        f" | {pct(upper, 99):.0f} ms | {max(upper):.0f} ms |",
        "",
    ]
    print("\n".join(lines))
    print(f"mean lower {statistics.mean(lower):.1f} ms")
    if not args.no_write:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n".join(lines))


if __name__ == "__main__":
    main()
