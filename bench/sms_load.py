"""Load benchmark of the signed Twilio SMS webhook against a fair bare handler.

Run:  .venv/bin/python bench/sms_load.py [--rounds 3] [--duration 10] [--ab REV]
Needs wrk (Debian: ``apt-get install wrk``). Appends the results to bench/RESULTS.md.
Run it under the shared bench lock (``flock <lock> .venv/bin/python bench/sms_load.py``).

The same method as ``bench/intake_load.py`` (whose harness it imports: server
start-up, wrk runs, CPU per request from ``/proc``, the summary): in the same
run, alternating, each run after a warm-up,

* **bare**: aiohttp that reads the same form-urlencoded body, splits it into
  fields, checks the same ``X-Twilio-Signature`` (HMAC-SHA1 over the URL + the
  sorted parameters, constant-time compare) and answers a small TwiML
  message (``bench/bare_sms_server.py``);
* **calm**: the full path for an SMS that triage rates below paging;
* **paging**: the full path for an SMS rated ``high``, so the message opens an
  escalation and its first page in its own commit;
* **replay** (unless ``--no-replay``): a flood of deliveries already stored
  (300 signed webhooks posted once before the load, then replayed in a loop),
  as a Twilio retry storm or an attacker replaying captured webhooks makes
  it: each must be recognised as stored and answered as its first delivery;
* **forged** (unless ``--no-replay``): webhooks of the same shape signed with
  another token, each a 403 that stores nothing (non-2xx counts them);
* with ``--ab REV``, the same full paths served by the code at ``REV``
  (exported with ``git archive``), interleaved with the working tree's.

Every request is a distinct, validly signed incoming-message webhook as Twilio
posts it (~20 fields, blank location fields, a fresh ``MessageSid`` and a
fresh sender, so dedupe never short-circuits and each message starts its own
thread, as each web report starts its own tip). The bodies and their
signatures are computed before any load (stdlib HMAC, checked against
twilio's ``RequestValidator``) into one file per run; each wrk thread posts
its own disjoint share. If wrk sent more than were signed, the rest would be
Twilio-style retries (duplicates): "messages stored" shows it.

The full path per request: bounded form read, signature and account check,
page-acknowledgement and keyword checks, language guess, dedupe, triage,
seal to 2 recipients, wrap, durable commit of the message with its
auto-reply claim (and, paging, the escalation), then the TwiML answer. The
auto-reply budget (``sms.auto_reply_budget`` a minute, global) is spent in
the first seconds, as in a flood: later messages take the claim's path
without winning it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import platform
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from intake_load import (  # noqa: E402 - the shared harness
    Run,
    Server,
    add_load_flags,
    free_port,
    run_wrk,
    start_hotline,
    summary,
    wait_healthy,
)
from results_md import publish  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

ACCOUNT = "AC" + "5" * 32
TOKEN = "b" * 32
NUMBER = "+15005550006"
PATH = "/twilio/sms"
# Rated high by the default rules (passport held, debt, confinement): pages.
PAGING_TEXT = ("Hi, I need to tell someone. My sister works at a nail salon downtown. The owner "
               "keeps her passport and says she owes him money for the trip, and the debt keeps "
               "growing. She sleeps at the shop with three other women and they are never "
               "allowed out alone. She works every day and is barely paid. Please help her, I "
               "can send more details later.")
# Rated below paging: a question about the service.
CALM_TEXT = ("Hello, I would like some information for a school project about how your service "
             "works. Who answers the messages, in which languages, and how long does it usually "
             "take before somebody reads what was sent? Our class is making posters for the "
             "library and we want to describe the hotline correctly. Thank you very much for "
             "your time and for the work you do.")
PER_SECOND = 1500  # signed webhooks per second of each run: more than any run has answered
BARE_POOL = 4000  # the bare handler keeps no state: it may see a body again
REPLAY_POOL = 300  # deliveries stored once, then replayed


def sign(url: str, form: dict[str, str], token: str = TOKEN) -> str:
    """Twilio's scheme (docs: URL + each name and its value, names sorted; one value each)."""
    s = url + "".join(k + form[k] for k in sorted(form))
    return base64.b64encode(hmac.new(token.encode(), s.encode(), hashlib.sha1).digest()).decode()


def sms_form(text: str) -> dict[str, str]:
    sid = "SM" + secrets.token_hex(16)
    sender = f"+1{secrets.randbelow(8 * 10**9) + 2 * 10**9}"  # a fresh thread per message
    return {
        "ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
        "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "",
        "Body": text, "FromCountry": "US", "To": NUMBER, "ToZip": "", "NumSegments": "3",
        "MessageSid": sid, "AccountSid": ACCOUNT, "From": sender, "ApiVersion": "2010-04-01",
    }


def write_signed(path: Path, url: str, text: str, count: int, token: str = TOKEN) -> None:
    """One signed webhook per line: signature TAB body (both URL-safe, no tabs)."""
    with open(path, "w", encoding="ascii") as f:
        for _ in range(count):
            form = sms_form(text)
            f.write(sign(url + PATH, form, token) + "\t" + urllib.parse.urlencode(form) + "\n")


LUA = """
local counter = 0
function setup(thread) counter = counter + 1; thread:set("id", counter) end
function init(args)
  sigs, bodies, n, i = {}, {}, 0, 0
  local j = 0
  for line in io.lines(%(data)s) do
    if j %% %(threads)d == id - 1 then  -- this thread's own share
      local tab = string.find(line, "\\t", 1, true)
      n = n + 1
      sigs[n] = string.sub(line, 1, tab - 1)
      bodies[n] = string.sub(line, tab + 1)
    end
    j = j + 1
  end
end
request = function()
  i = i + 1
  local k = (i - 1) %% n + 1
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = sigs[k], ["User-Agent"] = "TwilioProxy/1.1"}, bodies[k])
end
"""


def lua(path: Path, data: Path, threads: int) -> None:
    path.write_text(LUA % {"data": '"' + str(data) + '"', "threads": threads, "path": PATH})


def deliver_once(url: str, data: Path) -> None:
    """Post every webhook of ``data`` once, so that what wrk then sends is a replay."""
    for line in data.read_text().splitlines():
        sig, body = line.split("\t")
        req = urllib.request.Request(url + PATH, data=body.encode(), method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig})
        with urllib.request.urlopen(req) as r:
            assert r.status == 200, r.status


def start_bare(tmp: Path) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_sms_server.py"), str(port),
                             url, TOKEN])
    wait_healthy(url, proc)
    return Server("bare", url, proc)


def census(db: Path) -> str:
    """What the runs left in a server's database: proof of what was measured."""
    conn = sqlite3.connect(db)
    try:
        urg = dict(conn.execute("SELECT urgency, COUNT(*) FROM messages GROUP BY urgency").fetchall())
        esc = conn.execute("SELECT COUNT(*) FROM escalations").fetchone()[0]
        replies = conn.execute("SELECT COUNT(*) FROM sms_auto_replies").fetchone()[0]
    finally:
        conn.close()
    return (f"messages by urgency {dict(sorted(urg.items()))}, escalations {esc}, "
            f"auto-reply claims won {replies}")


def twilio_env() -> dict[str, str]:
    return {"HOTLINE_TWILIO_ACCOUNT_SID": ACCOUNT, "HOTLINE_TWILIO_AUTH_TOKEN": TOKEN,
            "HOTLINE_TWILIO_NUMBER": NUMBER,  # no REST call is made: TwiML answers
            "HOTLINE_TWILIO_API_BASE": f"http://127.0.0.1:{free_port()}"}


def check_signing() -> None:
    form = sms_form(CALM_TEXT)
    url = "http://127.0.0.1:1" + PATH
    assert RequestValidator(TOKEN).validate(url, form, sign(url, form)), "bench signs wrongly"


def main() -> None:
    ap = argparse.ArgumentParser()
    add_load_flags(ap)
    ap.add_argument("--ab", metavar="REV", help="also serve the code at REV, interleaved")
    ap.add_argument("--no-replay", action="store_true",
                    help="leave out the replay and forged floods")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    check_signing()
    os.environ.update(twilio_env())  # start_hotline's servers inherit it
    tmp = Path(tempfile.mkdtemp(prefix="hotline-sms-bench-"))
    servers: list[Server] = []
    try:
        servers += [start_bare(tmp), start_hotline("tree", ROOT, tmp)]
        if args.ab:  # the code at REV, exported (no worktree, nothing changes in the repository)
            code = tmp / "ab-code"
            code.mkdir()
            archive = subprocess.run(["git", "archive", args.ab], cwd=ROOT, check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
            servers.append(start_hotline(f"ab-{args.ab}", code, tmp))
        kinds = [("bare", servers[0], CALM_TEXT)]
        for s in servers[1:]:
            kinds += [(f"{s.name} calm", s, CALM_TEXT), (f"{s.name} paging", s, PAGING_TEXT)]
        scripts: dict[tuple[str, int], tuple[Path, Path]] = {}
        started = time.perf_counter()
        for s in servers[1:] if not args.no_replay else []:
            label = f"{s.name} replay"
            stem = label.replace(" ", "-")
            write_signed(tmp / f"{stem}.tsv", s.url, CALM_TEXT, REPLAY_POOL)
            deliver_once(s.url, tmp / f"{stem}.tsv")
            lua(tmp / f"{stem}.lua", tmp / f"{stem}.tsv", args.threads)
            kinds.append((label, s, CALM_TEXT))
            for r in range(args.rounds):
                scripts[(label, r)] = (tmp / f"{stem}.lua", tmp / f"{stem}.lua")
            label = f"{s.name} forged"
            stem = label.replace(" ", "-")
            write_signed(tmp / f"{stem}.tsv", s.url, CALM_TEXT, REPLAY_POOL, token="f" * 32)
            lua(tmp / f"{stem}.lua", tmp / f"{stem}.tsv", args.threads)
            kinds.append((label, s, CALM_TEXT))
            for r in range(args.rounds):
                scripts[(label, r)] = (tmp / f"{stem}.lua", tmp / f"{stem}.lua")
        for r in range(args.rounds):
            for label, s, text in kinds:
                if (label, r) in scripts:
                    continue
                pair = []
                for phase, seconds in (("warm", args.warmup), ("run", args.duration)):
                    stem = f"{label.replace(' ', '-')}-{r}-{phase}"
                    count = BARE_POOL if label == "bare" else PER_SECOND * seconds
                    write_signed(tmp / f"{stem}.tsv", s.url, text, count)
                    lua(tmp / f"{stem}.lua", tmp / f"{stem}.tsv", args.threads)
                    pair.append(tmp / f"{stem}.lua")
                scripts[(label, r)] = (pair[0], pair[1])
        signing_s = time.perf_counter() - started
        results: dict[str, list[Run]] = {label: [] for label, _, _ in kinds}
        for r in range(args.rounds):
            order = kinds if r % 2 == 0 else list(reversed(kinds))
            for label, s, _text in order:
                warm, script = scripts[(label, r)]
                run_wrk(s.url, warm, args.warmup, args, s.proc.pid, s.db)
                result = run_wrk(s.url, script, args.duration, args, s.proc.pid, s.db)
                results[label].append(result)
                print(f"round {r + 1} {label}: {result}", flush=True)
    finally:
        for s in servers:
            s.proc.terminate()
            s.proc.wait()
    load = os.getloadavg()[0]
    bare_rps = statistics.median(r.rps for r in results["bare"])
    rows = []
    for label, _s, _text in kinds:
        runs = results[label]
        ratio = statistics.median(r.rps for r in runs) / bare_rps
        stored = sum(r.stored for r in runs)
        requests = sum(r.requests for r in runs)
        rows.append(f"| {label} | {summary(runs, 'rps')} | {ratio:.3f} | {summary(runs, 'p50')} | "
                    f"{summary(runs, 'p99')} | {summary(runs, 'cpu_ms')} | "
                    f"{sum(r.non2xx for r in runs)} | "
                    + (f"{stored} of {requests}" if label != "bare" else "—") + " |")
    censuses = "\n".join(f"- {s.name}: {census(s.db)}" for s in servers[1:] if s.db is not None)
    cmd = " ".join(["bench/sms_load.py", *sys.argv[1:]])
    report = f"""
## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — SMS webhook vs a fair bare handler

Command: `flock <bench lock> .venv/bin/python {cmd}`
Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, \
{len(os.sched_getaffinity(0))} cores (shared; load average at the end {load:.1f}); load from \
`wrk -t{args.threads} -c{args.connections}` on the same machine, {args.warmup} s warm-up then \
{args.duration} s measured, {args.rounds} rounds alternating the order. Median (min–max) over \
the rounds; ratio = median req/s / bare's median. Every request a distinct signed webhook from \
a fresh number (signed before the load, {signing_s:.0f} s); "messages stored" counts what \
committed during the measured seconds.

| server | req/s | / bare | p50 ms | p99 ms | server CPU ms/req | non-2xx | messages stored |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

After the runs (warm-ups included):
{censuses}
"""
    publish(report, append=not args.no_write)


if __name__ == "__main__":
    main()
