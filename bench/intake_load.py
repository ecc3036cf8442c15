"""Load benchmark of the web intake path against a bare aiohttp handler.

Run:  .venv/bin/python bench/intake_load.py [--duration 15] [--connections 32]
Needs wrk (Debian: apt-get install wrk). Appends the results to bench/RESULTS.md.

The full path per request: multipart parse, form-token check (signature,
age, single use), triage with the default rule pack, seal to 2 recipients
(on-call advocate + recovery key), wrap under the tip's storage key, durable
group commit (WAL, synchronous=FULL) of the tip key, the message and the
spent token, then the 303 to the receipt page with its sealed cookie.

Form tokens are single-use, so each post carries its own: they are fetched
first, as a browser does (GET / with the form cookie), and the bench waits
the server's minimum form age before the load starts.
"""

from __future__ import annotations

import argparse
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crypto import Identity  # noqa: E402
from hotline.domain import Role  # noqa: E402
from hotline.instance_setup import add_advocate, create_instance, set_on_call  # noqa: E402

TEXT = ("Hello, I need to tell someone. My cousin works at a restaurant near the bus station. "
        "The manager keeps her passport and says she owes him money for the trip, and the debt "
        "keeps growing. She sleeps in the back room with four other women and they are not "
        "allowed to go out alone. They work every day from 9 in the morning until midnight. "
        "She says they are paid very little or nothing. She is scared to call the police "
        "because he says they will be deported. Please help her. I can give more details.")


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {url}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server not healthy: {url}")


def _token(url: str, cookie: str | None) -> tuple[str, str]:
    request = urllib.request.Request(url + "/", headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request) as r:
        cookie = cookie or r.headers["Set-Cookie"].split(";")[0]
        html = r.read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token, "no csrf token in the form"
    return cookie, token.group(1)


def form_tokens(url: str, n: int) -> tuple[str, list[str]]:
    """One form cookie and ``n`` single-use tokens, each from a GET / as a browser gets them."""
    cookie, first = _token(url, None)
    with ThreadPoolExecutor(8) as pool:
        rest = list(pool.map(lambda _: _token(url, cookie)[1], range(n - 1)))
    return cookie, [first, *rest]


def multipart(fields: dict[str, str]) -> tuple[str, str]:
    boundary = "----hotlinebench7MA4YWxkTrZu0gW"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
             for k, v in fields.items()]
    return "".join(parts) + f"--{boundary}--\r\n", f"multipart/form-data; boundary={boundary}"


def lua(path: Path, bodies: list[str], ctype: str, cookie: str | None) -> None:
    """A wrk script that posts each body in turn (each carries its own form token)."""
    def q(s: str) -> str:
        escaped = s.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + escaped.replace("\r", "\\r").replace("\n", "\\n") + '"'
    lines = ['wrk.method = "POST"', f'wrk.headers["Content-Type"] = {q(ctype)}']
    if cookie:
        lines.append(f'wrk.headers["Cookie"] = {q(cookie)}')
    lines.append("bodies = {" + ",\n".join(q(b) for b in bodies) + "}")
    lines += ["i = 0", "request = function()", "  i = i % #bodies + 1",
              "  return wrk.format(nil, nil, nil, bodies[i])", "end"]
    path.write_text("\n".join(lines) + "\n")


def run_wrk(url: str, script: Path, duration: int, connections: int) -> dict[str, str]:
    """Load ``url`` (the full URL, path included) and read wrk's summary."""
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
                          "--timeout", "10s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    result = {"rps": re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)}  # type: ignore[union-attr]
    for pct in ("50", "90", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+\w+)", out)
        result[f"p{pct}"] = m.group(1) if m else "?"
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = non2xx.group(1) if non2xx else "0"
    result["requests"] = re.search(r"(\d+) requests in", out).group(1)  # type: ignore[union-attr]
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=20000,
                    help="forms fetched before the run (more than the run will post)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    hot_port, bare_port = free_port(), free_port()
    hot_url, bare_url = f"http://127.0.0.1:{hot_port}", f"http://127.0.0.1:{bare_port}"
    create_instance(tmp / "inst", Identity.generate("recovery").public, public_url=hot_url)
    advocate = Identity.generate("alice")
    add_advocate(tmp / "inst", advocate.public, name="alice", role=Role.ADVOCATE)
    set_on_call(tmp / "inst", ["alice"])
    (tmp / "inst" / "hotline.toml").write_text(
        (tmp / "inst" / "hotline.toml").read_text().replace('log_level = "info"', 'log_level = "warning"'))

    procs = [
        subprocess.Popen([sys.executable, "-m", "hotline.cli.main", "serve", str(tmp / "inst"),
                          "--port", str(hot_port)], cwd=ROOT, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_server.py"), str(bare_port)]),
    ]
    try:
        wait_healthy(hot_url, procs[0])
        wait_healthy(bare_url, procs[1])
        cookie, tokens = form_tokens(hot_url, args.tokens)
        time.sleep(2.0)  # the default web.form_min_age: no post is held
        bodies = [multipart({"csrf_token": t, "lang": "en", "message": TEXT})[0] for t in tokens]
        ctype = multipart({})[1]
        lua(tmp / "hot.lua", bodies, ctype, cookie)
        lua(tmp / "bare.lua", bodies, ctype, None)
        bare = run_wrk(bare_url + "/report", tmp / "bare.lua", args.duration, args.connections)
        hot = run_wrk(hot_url + "/report", tmp / "hot.lua", args.duration, args.connections)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    stored = sqlite3.connect(tmp / "inst" / "hotline.db").execute(
        "SELECT COUNT(*) FROM messages").fetchone()[0]
    ratio = float(hot["rps"]) / float(bare["rps"])
    report = f"""
## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — web intake vs bare aiohttp

Command: `.venv/bin/python bench/intake_load.py --duration {args.duration} \
--connections {args.connections} --tokens {args.tokens}`
Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, \
{len(__import__('os').sched_getaffinity(0))} cores; load from `wrk -t1 -c{args.connections}` on the same machine.

| server | req/s | p50 | p90 | p99 | requests | non-2xx |
|---|---|---|---|---|---|---|
| bare aiohttp (parse form, answer) | {bare['rps']} | {bare['p50']} | {bare['p90']} | {bare['p99']} | {bare['requests']} | {bare['non2xx']} |
| Hotline full path (form token, triage, seal to 2, wrap, durable commit, 303 + sealed receipt cookie) | {hot['rps']} | {hot['p50']} | {hot['p90']} | {hot['p99']} | {hot['requests']} | {hot['non2xx']} |

Full path / bare = **{ratio:.2f}**; messages stored: {stored} of {hot['requests']} posts \
({args.tokens} single-use tokens fetched first; a post past them reuses one and stores nothing).
"""
    print(report)
    if not args.no_write:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(report)


if __name__ == "__main__":
    main()
