"""Load benchmark of the web intake path against a fair bare aiohttp handler.

Run:  .venv/bin/python bench/intake_load.py [--rounds 3] [--duration 10] [--ab REV]
Needs wrk (Debian: ``apt-get install wrk``). Appends the results to bench/RESULTS.md.

What is compared, in the same run, alternating, each run after a warm-up:

* **bare**: aiohttp that reads the same body, splits it into fields with the
  parser the web channel uses (``hotline/channels/multipart.py``) and answers
  a small page (``bench/bare_server.py``);
* **calm**: the full path for a 1.5 KB report that does not page;
* **paging**: the full path for a 1.5 KB report rated ``high``, so the message
  opens an escalation and its first page in its own commit (and the page
  worker then delivers it to the console notifier);
* with ``--ab REV``, the same two full paths served by the code at ``REV``
  (exported with ``git archive``), interleaved with the working tree's, so a
  change proves its gain side by side.

The full path per request: multipart parse, form-token check (signature,
age; single use checked in the message's write), triage with the default rule
pack (and the second reader, which the paging report's ``high`` consults),
seal to 2 recipients (on-call advocate + recovery key), wrap under the tip's
storage key (taken from the key store's pool of pairs already durable), one
durable commit (WAL, ``synchronous=FULL``) of the tip, the message, the spent
token and (paging) the escalation, then the 303 with the sealed receipt
cookie. wrk does not follow the 303: the receipt page is a separate
GET a browser makes afterwards, not part of taking the report.

Form tokens are single use and bound to the form cookie. Each post carries its
own: they are minted with the instance's server secret exactly as ``GET /``
issues them (``hotline.csrf.issue``: same cookie, same secret, issued now; the
bench checks one against a real ``GET /``), then the bench waits out the
form's minimum age before any load, as a person reading the form would.
Each wrk thread posts its own disjoint share of the tokens.

Server CPU per request is the server process's user+system time (all its
threads) over the measured run, divided by the requests wrk counted.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The code imported below: the tree, or (``instance_for``) an exported commit setting up its own instance.
sys.path.insert(0, os.environ.get("HOTLINE_BENCH_CODE", str(ROOT)))

from results_md import publish  # noqa: E402

from crypto import Identity  # noqa: E402
from hotline import csrf  # noqa: E402
from hotline.domain import Role  # noqa: E402
from hotline.instance import InstancePaths  # noqa: E402
from hotline.instance_setup import add_advocate, create_instance, set_on_call  # noqa: E402
from hotline.server_secret import load_server_secret  # noqa: E402

PAGING_TEXT = (
    "Hello, I need to tell someone. My cousin works at a restaurant near the bus station. "
    "The manager keeps her passport and says she owes him money for the trip, and the debt "
    "keeps growing. She sleeps in the back room with four other women and they are not "
    "allowed to go out alone. They work every day from 9 in the morning until midnight. "
    "She says they are paid very little or nothing. She is scared to call the police "
    "because he says they will be deported. Please help her. I can give more details. "
) * 3
CALM_TEXT = (
    "Hello, I would like some information for a school project about how your service "
    "works. Who answers the messages, in which languages, and how long does it usually "
    "take before somebody reads what was sent? Our class is making posters for the "
    "library and the community centre and we want to describe the hotline correctly. "
    "We would also like to know whether the posters may show your web address and the "
    "phone number, and if there are leaflets we could collect next week. Thank you. "
) * 3
BOUNDARY = "----hotlinebench7MA4YWxkTrZu0gW"
CTYPE = f"multipart/form-data; boundary={BOUNDARY}"
TOKENS_PER_SECOND = 2500  # minted per second of each run: more than any run has posted


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {url}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server not healthy: {url}")


def form_from_get(url: str) -> tuple[str, str]:
    """The cookie and token a browser gets from ``GET /``."""
    with urllib.request.urlopen(url + "/") as r:
        cookie = r.headers["Set-Cookie"].split(";")[0]
        html = r.read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token, "no csrf token in the form"
    return cookie, token.group(1)


def multipart(fields: dict[str, str]) -> tuple[str, str]:
    """A form's fields as the browser sends them: the body and its Content-Type."""
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
             for k, v in fields.items()]
    return "".join(parts) + f"--{BOUNDARY}--\r\n", CTYPE


def body(token: str, text: str) -> str:
    return multipart({"csrf_token": token, "lang": "en", "message": text})[0]


def _q(s: str) -> str:
    escaped = s.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "\\r").replace("\n", "\\n") + '"'


def lua(path: Path, tokens: list[str], text: str, cookie: str | None) -> None:
    """A wrk script: every request a fresh token; thread k of n posts tokens k, k+n, ..."""
    head, tail = body("\x00", text).split("\x00")
    lines = ['wrk.method = "POST"', f'wrk.headers["Content-Type"] = {_q(CTYPE)}']
    if cookie:
        lines.append(f'wrk.headers["Cookie"] = {_q(cookie)}')
    lines += [f"head = {_q(head)}", f"tail = {_q(tail)}",
              "tokens = {" + ",\n".join(_q(t) for t in tokens) + "}",
              "local counter = 0",
              "function setup(thread) counter = counter + 1; thread:set('id', counter) end",
              "function init(args) i = id - 1 end",
              "request = function()",
              "  i = i + 2",
              "  local t = tokens[(i - 1) % #tokens + 1]",
              "  return wrk.format(nil, nil, nil, head .. t .. tail)",
              "end"]
    path.write_text("\n".join(lines) + "\n")


@dataclass
class Run:
    rps: float
    p50: float
    p99: float
    requests: int
    non2xx: int
    cpu_ms: float  # server CPU per request
    stored: int


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", value)
    assert m, value
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stored(db: Path | None) -> int:
    if db is None:
        return 0
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
    finally:
        conn.close()


def run_wrk(url: str, script: Path, seconds: int, args: argparse.Namespace, pid: int,
            db: Path | None) -> Run:
    before_cpu, before_rows = _cpu(pid), _stored(db)
    out = subprocess.run(["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s",
                          "--latency", "--timeout", "10s", "-s", str(script), url + "/report"],
                         capture_output=True, text=True, check=True).stdout
    cpu = _cpu(pid) - before_cpu
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Run(rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
               p50=_ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
               p99=_ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
               requests=requests, non2xx=int(non2xx.group(1)) if non2xx else 0,
               cpu_ms=1000 * cpu / max(requests, 1), stored=_stored(db) - before_rows)


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    db: Path | None = None
    cookie: str | None = None
    secret: object = None


def hotline_instance(root: Path, url: str) -> Path:
    create_instance(root, Identity.generate("recovery").public, public_url=url)
    add_advocate(root, Identity.generate("alice").public, name="alice", role=Role.ADVOCATE)
    set_on_call(root, ["alice"])
    config = root / "hotline.toml"
    config.write_text(config.read_text().replace('log_level = "info"', 'log_level = "warning"'))
    return root


SETUP_WITH = r"""
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from intake_load import hotline_instance
hotline_instance(Path(sys.argv[2]), sys.argv[3])
"""


def instance_for(code: Path, root: Path, url: str) -> Path:
    """An instance made by the code that will serve it: an older commit refuses a database
    whose schema a newer tree migrated (so ``--ab REV`` must not set it up with the tree)."""
    if code == ROOT:
        return hotline_instance(root, url)
    subprocess.run([sys.executable, "-c", SETUP_WITH, str(ROOT / "bench"), str(root), url],
                   check=True, cwd=code, env={**os.environ, "HOTLINE_BENCH_CODE": str(code)})
    return root


def start_hotline(name: str, code: Path, tmp: Path) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    inst = instance_for(code, tmp / name, url)
    env = {**os.environ, "PYTHONPATH": str(code), "HOTLINE_OPS_PORT": "0"}  # two servers run
    proc = subprocess.Popen([sys.executable, "-m", "hotline.cli.main", "serve", str(inst),
                             "--port", str(port)], cwd=code, env=env, stderr=subprocess.DEVNULL)
    wait_healthy(url, proc)
    secret = load_server_secret(InstancePaths(inst).server_secret, {})
    cookie, token = form_from_get(url)
    # A minted token is exactly what GET / gives: it checks against the same cookie and secret.
    value = cookie.split("=", 1)[1]
    assert not isinstance(csrf.check(secret, value, token, 3600), str), "GET / token does not check"
    assert not isinstance(csrf.check(secret, value, csrf.issue(secret, value), 3600), str)
    return Server(name, url, proc, inst / "hotline.db", cookie, secret)


def start_bare(tmp: Path) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_server.py"), str(port)])
    wait_healthy(url, proc)
    return Server("bare", url, proc)


def add_load_flags(ap: argparse.ArgumentParser) -> None:
    """The load every HTTP bench applies, the same for the bare handler and the full path:
    a comparison is fair only if both sides get these flags."""
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)


def summary(runs: list[Run], attr: str) -> str:
    values = [getattr(r, attr) for r in runs]
    fmt = "{:.0f}" if attr == "rps" else "{:.1f}" if attr != "cpu_ms" else "{:.2f}"
    return (fmt.format(statistics.median(values)) + " (" + fmt.format(min(values)) + "–"
            + fmt.format(max(values)) + ")")


def main() -> None:
    ap = argparse.ArgumentParser()
    add_load_flags(ap)
    ap.add_argument("--ab", metavar="REV", help="also serve the code at REV, interleaved")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
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
        for r in range(args.rounds):
            for label, s, text in kinds:
                pair = []
                for phase, seconds in (("warm", args.warmup), ("run", args.duration)):
                    per_run = TOKENS_PER_SECOND * seconds
                    tokens = ([csrf.issue(s.secret, s.cookie.split("=", 1)[1])  # type: ignore[arg-type]
                               for _ in range(per_run)] if s.cookie else ["unused"])
                    path = tmp / f"{label.replace(' ', '-')}-{r}-{phase}.lua"
                    lua(path, tokens, text, s.cookie)
                    pair.append(path)
                scripts[(label, r)] = (pair[0], pair[1])
        min_age = 2.0
        time.sleep(min_age + 1)  # every token is older than the default web.form_min_age
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
    cmd = " ".join(["bench/intake_load.py", *sys.argv[1:]])
    report = f"""
## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — web intake vs a fair bare handler

Command: `.venv/bin/python {cmd}`
Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, \
{len(os.sched_getaffinity(0))} cores (shared; load average at the end \
{os.getloadavg()[0]:.1f}); load from `wrk -t{args.threads} -c{args.connections}` on the same \
machine, {args.warmup} s warm-up then {args.duration} s measured, {args.rounds} rounds \
alternating the order. Median (min–max) over the rounds; ratio = median req/s / bare's median.
"Messages stored" counts what committed during the measured seconds, so it can exceed wrk's
count of answered requests by the posts in flight when wrk stopped.

| server | req/s | / bare | p50 ms | p99 ms | server CPU ms/req | non-2xx | messages stored |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""
    publish(report, append=not args.no_write)


if __name__ == "__main__":
    main()
