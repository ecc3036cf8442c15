"""Flood benchmark: can a scripted flood bury real reports or exhaust the on-call advocate?

Run:  .venv/bin/python bench/flood.py [--web 5000] [--sms 1000] [--genuine 20]
                                      [--concurrency 24] [--window 45s] [--form-wait 0]
      .venv/bin/python bench/flood.py --window 0s    # the baseline: coalescing off
Appends a section to bench/RESULTS.md (unless --no-write).

A real ``hotline serve`` on a fresh instance: alice on call, bob the
administrator (the default escalation pages him after --escalate-after), both
paged by the signed webhook notifier to a local receiver that checks every
signature and notes when each page arrived. Twilio is the project's stand-in
(tests/helpers/twilio_fake.py). Into it go, interleaved in one shuffled
stream from --concurrency clients:

* ``--web`` scripted web tips that sound urgent (the rules call them critical
  or high). Each is sent like a browser: GET the form, parse every hidden
  field (CSRF token, and any form token another change adds), wait
  --form-wait seconds if a form token has a minimum age, POST them back with
  the message; a refusal that asks to wait is retried after the wait;
* ``--sms`` scripted SMS from as many different numbers, each a validly
  signed Twilio webhook;
* ``--genuine`` real reports, half web and half SMS, some critical, each with
  a unique marker, spread evenly through the stream.

Then it checks, as an advocate would: every genuine report is stored and
readable (alice's client fetches and decrypts every tip with her key), the
time from each genuine critical's submission to the first page that carries
it, the pages each person received and the most in any window, and how many
automatic SMS replies went out (the per-minute budget).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import hashlib
import hmac
import json
import os
import platform
import random
import re
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from crypto import Identity  # noqa: E402
from hotline.client.advocate import AdvocateClient  # noqa: E402
from hotline.domain import Role  # noqa: E402
from hotline.instance_setup import add_advocate, create_instance, set_on_call  # noqa: E402
from hotline.paging.admin import set_notifiers  # noqa: E402
from hotline.units import parse_duration  # noqa: E402
from tests.helpers.twilio_fake import FakeTwilio  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from intake_load import free_port, multipart, wait_healthy  # noqa: E402
from results_md import publish  # noqa: E402

SECRET = secrets.token_hex(16)  # paging.webhook_secret for this run
NUMBER = "+15005550006"
FLOOD_TEXTS = (  # urgent-sounding, as a flooder would script them (the rules agree)
    "HELP ME NOW he is hurting me", "Someone is going to kill me tonight please send help",
    "urgent: I am being held and cannot leave", "they lock us in at night and he has a gun",
    "I want to report my boss keeps my passport and I owe him money",
)
GENUINE_CRITICAL = "He took my passport and I can't leave, please help. Room 14 behind the laundry."
GENUINE_HIGH = "My cousin works at a restaurant, the manager keeps her passport. She is scared."
_HIDDEN = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')
_WAIT_WORDS = ("wait", "too quickly", "too soon", "try again")


@dataclass
class Job:
    kind: str  # web | sms
    text: str
    genuine: bool = False
    critical: bool = False
    marker: str = ""
    sender: str = ""
    done_at: float | None = None  # monotonic time the server answered 2xx
    status: int = 0
    reason: str = ""
    auto_reply: bool = False


@dataclass
class Receiver:
    """The advocates' webhook endpoint: checks each page's signature, notes when it came."""

    pages: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    bad: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        stamp = request.headers.get("X-Hotline-Timestamp", "")
        mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Hotline-Signature", ""), "sha256=" + mac):
            self.bad += 1
            return web.Response(status=401)
        self.pages.append((time.monotonic(), request.match_info["who"], json.loads(body)))
        return web.Response(status=204)


def hidden_fields(html: str) -> dict[str, str]:
    """Every hidden input of the form, as a browser would send it back."""
    fields = {}
    for tag in _HIDDEN.findall(html):
        attrs = dict(_ATTR.findall(tag))
        if attrs.get("type", "").lower() == "hidden" and "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


async def send_web(session: aiohttp.ClientSession, url: str, job: Job, form_wait: float) -> None:
    for _ in range(3):
        async with session.get(url + "/") as r:
            html = await r.text()
            cookie = r.headers.get("Set-Cookie", "").split(";")[0]
        fields = hidden_fields(html)
        if form_wait > 0:
            await asyncio.sleep(form_wait)
        body, ctype = multipart({**fields, "lang": "en", "message": job.text})
        headers = {"Content-Type": ctype, **({"Cookie": cookie} if cookie else {})}
        async with session.post(url + "/report", data=body.encode(), headers=headers) as r:
            job.status = r.status
            text = await r.text()
        if job.status < 400:
            job.done_at = time.monotonic()
            return
        job.reason = re.sub(r"<[^>]+>|\s+", " ", text)[:160].strip()
        if not any(w in text.lower() for w in _WAIT_WORDS):
            return
        await asyncio.sleep(max(form_wait, 1.0))


async def send_sms(session: aiohttp.ClientSession, url: str, job: Job, fake: FakeTwilio) -> None:
    sid = "SM" + secrets.token_hex(16)
    form = {"ToCountry": "US", "SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid,
            "SmsStatus": "received", "Body": job.text, "FromCountry": "US", "To": NUMBER,
            "NumSegments": "1", "MessageSid": sid, "AccountSid": fake.account_sid,
            "From": job.sender, "ApiVersion": "2010-04-01"}
    signature = RequestValidator(fake.auth_token).compute_signature(url + "/twilio/sms", form)
    async with session.post(url + "/twilio/sms", data=urllib.parse.urlencode(form),
                            headers={"X-Twilio-Signature": signature,
                                     "Content-Type": "application/x-www-form-urlencoded"}) as r:
        job.status = r.status
        text = await r.text()
    if r.status == 200:
        job.done_at = time.monotonic()
        job.auto_reply = "<Message>" in text
    else:
        job.reason = text[:160]


def make_jobs(web_n: int, sms_n: int, genuine: int, seed: int) -> list[Job]:
    rnd = random.Random(seed)
    jobs = [Job("web", rnd.choice(FLOOD_TEXTS)) for _ in range(web_n)]
    jobs += [Job("sms", rnd.choice(FLOOD_TEXTS), sender=f"+1415{6_000_000 + i:07d}")
             for i in range(sms_n)]
    rnd.shuffle(jobs)
    step = max(1, len(jobs) // (genuine + 1))
    for g in range(genuine):
        critical = g % 3 != 2  # two in three genuine reports are critical
        marker = f"genuine-{g:02d}-{secrets.token_hex(3)}"
        text = f"{GENUINE_CRITICAL if critical else GENUINE_HIGH} ({marker})"
        kind = "web" if g % 2 == 0 else "sms"
        jobs.insert((g + 1) * step + g, Job(kind, text, True, critical, marker,
                                            sender=f"+1415{7_000_000 + g:07d}"))
    return jobs


def setup(root: Path, url: str, hook: str) -> tuple[Identity, Identity]:
    create_instance(root, Identity.generate("recovery").public, public_url=url)
    alice, bob = Identity.generate("alice"), Identity.generate("bob")
    add_advocate(root, alice.public, name="alice", role=Role.ADVOCATE)
    add_advocate(root, bob.public, name="bob", role=Role.ADMIN)
    set_on_call(root, ["alice"])
    set_notifiers(root, "alice", [("webhook", hook + "/page/alice")])
    set_notifiers(root, "bob", [("webhook", hook + "/page/bob")])
    toml = root / "hotline.toml"
    toml.write_text(toml.read_text().replace('log_level = "info"', 'log_level = "warning"'))
    return alice, bob


def carried(doc: dict[str, Any]) -> list[str]:
    if doc.get("type") == "hotline.page_summary":
        return [t["tip_ref"] for t in doc["tips"]]
    return [doc["tip_ref"]]


def most_in_window(times: list[float], window: float) -> int:
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def read_everything(url: str, identity: Identity) -> tuple[dict[str, dict[str, Any]], int, int]:
    """Every tip through alice's client, decrypted with her key: marker → (ref, urgency)."""
    client = AdvocateClient(url, identity)
    client.login()
    tips = client.inbox()
    found: dict[str, dict[str, Any]] = {}
    failed = 0

    def one(tip: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        c = AdvocateClient(url, identity)
        c.http.token = client.http.token
        return tip, c.read(tip["id"]).messages

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for tip, messages in pool.map(one, tips):
            for m in messages:
                if m.get("body") is None:
                    failed += 1
                    continue
                hit = re.search(r"\((genuine-\d\d-[0-9a-f]{6})\)", m["body"])
                if hit:
                    found[hit.group(1)] = {"ref": tip["ref"], "urgency": tip["urgency"]}
    return found, len(tips), failed


async def run(args: argparse.Namespace) -> str:
    window = parse_duration(args.window)
    tmp = Path(tempfile.mkdtemp(prefix="hotline-flood-"))
    port, hook_port = free_port(), free_port()
    url, hook = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{hook_port}"
    alice, _ = setup(tmp / "inst", url, hook)
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/page/{who}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", hook_port).start()
    fake = await FakeTwilio().start()
    env = {**os.environ, "HOTLINE_TWILIO_ACCOUNT_SID": fake.account_sid,
           "HOTLINE_TWILIO_AUTH_TOKEN": fake.auth_token, "HOTLINE_TWILIO_NUMBER": NUMBER,
           "HOTLINE_TWILIO_API_BASE": fake.base_url, "HOTLINE_PUBLIC_URL": url,
           "HOTLINE_PAGING_WEBHOOK_SECRET": SECRET, "HOTLINE_PAGING_COALESCE_WINDOW": args.window,
           "HOTLINE_PAGING_DEFAULT_DELAY": args.escalate_after}
    server = subprocess.Popen(  # noqa: ASYNC220 - starts it and returns; nothing waits here
        [sys.executable, "-m", "hotline.cli.main", "serve", str(tmp / "inst"), "--port", str(port)],
        cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    jobs = make_jobs(args.web, args.sms, args.genuine, args.seed)
    try:
        wait_healthy(url, server)
        queue: asyncio.Queue[Job] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)
        began = time.monotonic()
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                         timeout=aiohttp.ClientTimeout(total=60)) as session:
            async def worker() -> None:
                while not queue.empty():
                    job = queue.get_nowait()
                    try:
                        if job.kind == "web":
                            await send_web(session, url, job, args.form_wait)
                        else:
                            await send_sms(session, url, job, fake)
                    except (aiohttp.ClientError, TimeoutError) as e:
                        job.reason = type(e).__name__

            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        sent_for = time.monotonic() - began
        # Watch until the last tip's first level and bob's level (escalation) have had a
        # window to close: every summary that covers the flood has gone out.
        escalate = parse_duration(args.escalate_after)
        watch_until = began + escalate + max(window, sent_for) + window + args.settle
        await asyncio.sleep(max(0.0, watch_until - time.monotonic()))
        stop_at = time.monotonic()
        found, tip_count, undecryptable = await asyncio.to_thread(read_everything, url, alice)
    finally:
        server.terminate()
        server.wait()
        await fake.close()
        await runner.cleanup()
    db = sqlite3.connect(tmp / "inst" / "hotline.db")
    stored = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    summaries = db.execute("SELECT COUNT(*) FROM page_summaries").fetchone()[0]
    pending = db.execute("SELECT COUNT(*) FROM page_outbox WHERE status = 'pending'").fetchone()[0]
    db.close()

    genuine = [j for j in jobs if j.genuine]
    ok_web = sum(j.kind == "web" and j.done_at is not None for j in jobs)
    ok_sms = sum(j.kind == "sms" and j.done_at is not None for j in jobs)
    refused = sorted({j.reason for j in jobs if j.done_at is None and j.reason})[:3]
    readable = sum(j.marker in found for j in genuine)
    first_page: dict[str, float] = {}
    for at, _, doc in receiver.pages:
        for ref in carried(doc):
            first_page.setdefault(ref, at)
    latencies = []
    for j in genuine:
        info = found.get(j.marker)
        if j.critical and info and j.done_at is not None and info["ref"] in first_page:
            latencies.append(first_page[info["ref"]] - j.done_at)
    unpaged = sum(1 for j in genuine if j.critical and (j.marker not in found
                                                        or found[j.marker]["ref"] not in first_page))
    span = window or 45.0  # the baseline (no window) is counted over the default window
    people = sorted({who for _, who, _ in receiver.pages})
    per_person = []
    for who in people:
        times = [at for at, w, _ in receiver.pages if w == who]
        tips = sum(len(carried(d)) for _, w, d in receiver.pages if w == who)
        per_person.append(f"| {who} | {len(times)} | {tips} | "
                          f"{most_in_window(times, span)} |")
    replies = sum(j.auto_reply for j in jobs)
    minutes = max(1.0, (stop_at - began) / 60)
    lat = (f"median {statistics.median(latencies):.1f} s, max {max(latencies):.1f} s "
           f"({len(latencies)} critical)" if latencies else "none measured")
    command = (f".venv/bin/python bench/flood.py --web {args.web} --sms {args.sms} --genuine "
               f"{args.genuine} --concurrency {args.concurrency} --window {args.window} "
               f"--form-wait {args.form_wait} --escalate-after {args.escalate_after}")
    return f"""
## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — flood: {args.web} web + {args.sms} SMS + {args.genuine} genuine, coalesce window {args.window}

Command: `{command}`
Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, \
{len(os.sched_getaffinity(0))} cores (shared); load from {args.concurrency} aiohttp clients on the same machine.

- Sent in {sent_for:.0f} s: web {ok_web}/{args.web + (args.genuine + 1) // 2} accepted, SMS \
{ok_sms}/{args.sms + args.genuine // 2} accepted; messages stored: {stored}; tips readable by \
alice's client: {tip_count} (undecryptable messages: {undecryptable}).{' Refusals: ' + '; '.join(refused) if refused else ''}
- **Genuine reports stored and readable: {readable}/{len(genuine)}** (decrypted with alice's key, \
found by their markers).
- **First page carrying a genuine critical, after its submission: {lat}**; genuine criticals \
never paged: {unpaged}.
- Automatic SMS replies: {replies} over {minutes:.1f} min (budget `sms.auto_reply_budget`, per minute).
- Watched for {stop_at - began:.0f} s from the first request. Summary pages: {summaries}; pages \
held for a later window when the watch ended: {pending} (the escalation's repeat pass); webhook \
pages with a bad signature: {receiver.bad}.

| person | pages received | tips carried | most pages received in any {span:.0f} s |
|---|---|---|---|
{chr(10).join(per_person) or '| — | 0 | 0 | 0 |'}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--web", type=int, default=5000)
    ap.add_argument("--sms", type=int, default=1000)
    ap.add_argument("--genuine", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=24)
    ap.add_argument("--window", default="45s", help="paging.coalesce_window (0s: the baseline)")
    ap.add_argument("--escalate-after", default="90s", help="paging.default_delay")
    ap.add_argument("--form-wait", type=float, default=0.0,
                    help="seconds between GET and POST of the form (a form token's minimum age)")
    ap.add_argument("--settle", type=float, default=15.0,
                    help="extra seconds to watch after the last window that covers the flood")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    report = asyncio.run(run(args))
    publish(report, append=not args.no_write)


if __name__ == "__main__":
    main()
