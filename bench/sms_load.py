"""Load benchmark of the signed Twilio SMS webhook, next to the web form path and
a bare aiohttp baseline, in the same run, on the same machine, with the same
load generator.

Run:  .venv/bin/python bench/sms_load.py [--duration 15] [--connections 32]
Needs wrk (Debian: apt-get install wrk). Appends a section to bench/RESULTS.md.

Every SMS request is a distinct, validly signed incoming-message webhook
(twilio's RequestValidator over the public URL), as Twilio posts it: ~20
form fields with blank location fields, a 2-segment text, a fresh MessageSid,
from one of --senders numbers (so most messages join an existing thread, as
conversations do). The full path per request: bounded form read, signature
check, account check, keyword and language checks, duplicate check, triage
with the default rules, seal to 2 recipients, wrap, durable group commit
(message + auto-reply claim in one transaction), TwiML answer. Requests are
pre-signed into a file that wrk's Lua script replays in order; if wrk sends
more than were signed, the rest are Twilio-style retries (duplicates), which
the table reports.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from crypto import Identity  # noqa: E402
from hotline.domain import Role  # noqa: E402
from hotline.instance_setup import add_advocate, create_instance, set_on_call  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from intake_load import (  # noqa: E402 - the shared load-test plumbing
    form_tokens,
    free_port,
    lua,
    multipart,
    run_wrk,
    wait_healthy,
)

TEXT = ("Hi, I need to tell someone. My sister works at a nail salon downtown. The owner "
        "keeps her passport and says she owes money for the trip. She sleeps at the shop and "
        "is never allowed out alone. She works every day and is barely paid. Please help her, "
        "I can send more details later.")
ACCOUNT = "AC" + "5" * 32
TOKEN = "b" * 32
NUMBER = "+15005550006"


def sms_form(i: int, senders: int) -> dict[str, str]:
    sid = "SM" + secrets.token_hex(16)
    return {
        "ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
        "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "",
        "Body": TEXT, "FromCountry": "US", "To": NUMBER, "ToZip": "", "NumSegments": "2",
        "MessageSid": sid, "AccountSid": ACCOUNT, "From": f"+1415{5_000_000 + i % senders:07d}",
        "ApiVersion": "2010-04-01",
    }


def write_requests(path: Path, url: str, count: int, senders: int) -> None:
    """One pre-signed request per line: signature TAB form body."""
    validator = RequestValidator(TOKEN)
    with open(path, "w", encoding="ascii") as f:
        for i in range(count):
            form = sms_form(i, senders)
            f.write(validator.compute_signature(url, form) + "\t" + urllib.parse.urlencode(form) + "\n")


SMS_LUA = """
local sigs, bodies, n, i = {}, {}, 0, 0
for line in io.lines("%(data)s") do
  local tab = string.find(line, "\\t", 1, true)
  n = n + 1
  sigs[n] = string.sub(line, 1, tab - 1)
  bodies[n] = string.sub(line, tab + 1)
end
request = function()
  i = i + 1
  local k = ((i - 1) %% n) + 1
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = sigs[k], ["User-Agent"] = "TwilioProxy/1.1"}, bodies[k])
end
"""


def make_instance(root: Path, url: str) -> None:
    create_instance(root, Identity.generate("recovery").public, public_url=url)
    advocate = Identity.generate("alice")
    add_advocate(root, advocate.public, name="alice", role=Role.ADVOCATE)
    set_on_call(root, ["alice"])
    toml = root / "hotline.toml"
    toml.write_text(toml.read_text().replace('log_level = "info"', 'log_level = "warning"'))


def serve(root: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "hotline.cli.main", "serve", str(root),
                             "--port", str(port)], cwd=ROOT, env={**os.environ, **env},
                            stderr=subprocess.DEVNULL)


def row(name: str, r: dict[str, str]) -> str:
    return (f"| {name} | {r['rps']} | {r['p50']} | {r['p90']} | {r['p99']} | {r['requests']} "
            f"| {r['non2xx']} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--requests", type=int, default=40_000, help="distinct signed webhooks")
    ap.add_argument("--senders", type=int, default=2_000, help="distinct texters (threads)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hotline-sms-bench-"))
    ports = {"sms": free_port(), "web": free_port(), "bare": free_port()}
    urls = {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
    make_instance(tmp / "sms", urls["sms"])
    make_instance(tmp / "web", urls["web"])
    twilio_env = {"HOTLINE_TWILIO_ACCOUNT_SID": ACCOUNT, "HOTLINE_TWILIO_AUTH_TOKEN": TOKEN,
                  "HOTLINE_TWILIO_NUMBER": NUMBER,
                  "HOTLINE_TWILIO_API_BASE": f"http://127.0.0.1:{free_port()}"}  # unused: no REST
    started = time.perf_counter()
    write_requests(tmp / "sms.tsv", urls["sms"] + "/twilio/sms", args.requests, args.senders)
    signing_s = time.perf_counter() - started
    (tmp / "sms.lua").write_text(SMS_LUA % {"data": tmp / "sms.tsv", "path": "/twilio/sms"})
    bare_body = urllib.parse.urlencode(sms_form(0, 1))

    procs = [serve(tmp / "sms", ports["sms"], twilio_env), serve(tmp / "web", ports["web"], {}),
             subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_server.py"),
                               str(ports["bare"])])]
    try:
        for name, proc in zip(("sms", "web", "bare"), procs, strict=True):
            wait_healthy(urls[name], proc)
        lua(tmp / "bare.lua", [bare_body], "application/x-www-form-urlencoded", None)
        cookie, tokens = form_tokens(urls["web"], min(args.requests, 20_000))  # one per post
        time.sleep(2.0)  # the default web.form_min_age: no post is held
        ctype = multipart({})[1]
        lua(tmp / "web.lua", [multipart({"csrf_token": t, "lang": "en", "message": TEXT})[0]
                              for t in tokens], ctype, cookie)
        bare = run_wrk(urls["bare"] + "/report", tmp / "bare.lua", args.duration, args.connections)
        web = run_wrk(urls["web"] + "/report", tmp / "web.lua", args.duration, args.connections)
        sms = run_wrk(urls["sms"] + "/twilio/sms", tmp / "sms.lua", args.duration, args.connections)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    db = sqlite3.connect(tmp / "sms" / "hotline.db")
    stored, tips = (db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # noqa: S608 - constants
                    for t in ("messages", "tips"))
    db.close()
    ratio = float(sms["rps"]) / float(bare["rps"])
    cores = len(os.sched_getaffinity(0))
    report = f"""
## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — signed Twilio SMS webhook vs web form vs bare aiohttp

Command: `.venv/bin/python bench/sms_load.py --duration {args.duration} --connections \
{args.connections}`
Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, \
{cores} cores; load from `wrk -t1 -c{args.connections}` on the same machine, one server at a time.

| server | req/s | p50 | p90 | p99 | requests | non-2xx |
|---|---|---|---|---|---|---|
{row("bare aiohttp (parse the same SMS form, answer)", bare)}
{row("web form, full path (CSRF, triage, seal to 2, wrap, durable commit, receipt page)", web)}
{row("SMS webhook, full path (signature, account, dedupe, triage, seal to 2, wrap, "
     "durable commit with auto-reply claim, TwiML)", sms)}

SMS / bare = **{ratio:.2f}**; SMS / web form = **{float(sms["rps"]) / float(web["rps"]):.2f}**.
Distinct signed webhooks available: {args.requests} (signed in {signing_s:.1f} s) from \
{args.senders} numbers; messages stored: {stored} in {tips} threads (every 2xx is a committed \
message; requests beyond {args.requests} would have been duplicates).
"""
    print(report)
    if not args.no_write:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(report)


if __name__ == "__main__":
    main()
