"""Where the server's CPU goes per report, by thread: the code at REV against the tree, interleaved.

Run:  flock /tmp/hotline-bench.lock .venv/bin/python bench/intake_threads_ab.py REV [--rounds 3] [--seconds 6]

``intake_load.py`` gives one CPU figure per report for the whole process; this
one splits it between the event loop thread (HTTP, form, triage, sealing) and
the other threads (the database writer and reader, the key store's), read
from ``/proc/<pid>/task/<tid>/stat`` around each measured ``wrk -t2 -c32`` run
(2 s warm-up first), calm and paging reports, rounds alternating the order of
the two codes. Moving work from one thread to the other shows here even when
the total does not move. Prints a table; writes nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from intake_load import CALM_TEXT, PAGING_TEXT, TOKENS_PER_SECOND, lua, start_hotline  # noqa: E402

from hotline import csrf  # noqa: E402


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of ``pid``, by thread id."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rev")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=6)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hotline-threads-ab-"))
    code = tmp / "code"
    code.mkdir()
    archive = subprocess.run(["git", "archive", args.rev], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
    servers = {"tree": start_hotline("tree", ROOT, tmp), args.rev: start_hotline("rev", code, tmp)}
    results: dict[tuple[str, str], list[tuple[float, float, float, float]]] = {}
    try:
        scripts = {}
        for name, s in servers.items():
            value = s.cookie.split("=", 1)[1]  # type: ignore[union-attr]
            for r in range(args.rounds):
                for kind, text in (("calm", CALM_TEXT), ("paging", PAGING_TEXT)):
                    for phase, seconds in (("warm", 2), ("run", args.seconds)):
                        path = tmp / f"{name}-{r}-{kind}-{phase}.lua"
                        tokens = [csrf.issue(s.secret, value)  # type: ignore[arg-type]
                                  for _ in range(TOKENS_PER_SECOND * (seconds + 1))]
                        lua(path, tokens, text, s.cookie)
                        scripts[(name, r, kind, phase)] = path
        time.sleep(3)  # every token older than the form's minimum age
        for r in range(args.rounds):
            for name in (list(servers) if r % 2 == 0 else list(reversed(servers))):
                s = servers[name]
                for kind in ("calm", "paging"):
                    subprocess.run(["wrk", "-t2", "-c32", "-d2s", "-s",
                                    str(scripts[(name, r, kind, "warm")]), s.url + "/report"],
                                   capture_output=True, check=True)
                    before = thread_cpu(s.proc.pid)
                    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{args.seconds}s", "-s",
                                          str(scripts[(name, r, kind, "run")]), s.url + "/report"],
                                         capture_output=True, text=True, check=True).stdout
                    after = thread_cpu(s.proc.pid)
                    n = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
                    loop = min(after)  # the main thread (the event loop) has the process's id
                    spent = {t: after[t] - before.get(t, 0.0) for t in after}
                    total = sum(spent.values())
                    row = (1000 * total / n, 1000 * spent[loop] / n,
                           1000 * (total - spent[loop]) / n, n / args.seconds)
                    results.setdefault((name, kind), []).append(row)
                    print(f"round {r + 1} {name} {kind}: " + " ".join(f"{x:.3f}" for x in row),
                          flush=True)
    finally:
        for s in servers.values():
            s.proc.terminate()
            s.proc.wait()
    print(f"\nload average {os.getloadavg()[0]:.1f}")
    print("| code | report | CPU ms/report, all threads | event loop thread | other threads | req/s |")
    print("|---|---|---|---|---|---|")
    for (name, kind), rows in results.items():
        cells = []
        for i in range(4):
            values = [row[i] for row in rows]
            fmt = "{:.0f}" if i == 3 else "{:.2f}"
            cells.append(fmt.format(statistics.median(values)) + " (" + fmt.format(min(values))
                         + "–" + fmt.format(max(values)) + ")")
        print(f"| {name} | {kind} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
