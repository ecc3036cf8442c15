"""Where a front end spends its time at saturation: py-spy over the whole process tree.

Run:  .venv/bin/python bench/profile_scale.py --workers 2 [--calm] [--postgres URL | --pg-cluster]
Needs wrk and py-spy (``.venv/bin/pip install py-spy``). Prints, does not write.

Starts ``hotline serve --workers N`` as bench/scale.py does, puts wrk -t2 -c32
on it (paging reports unless ``--calm``), and samples every process of the
tree for 10 s with py-spy (``--subprocesses``, on-CPU samples only: a thread
blocked without the GIL in a known idle call is not counted, one blocked in
fsync is). Prints the share of samples per process, the top leaf frames, and a
rough split by what the stack is doing.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale  # noqa: E402
from intake_load import CALM_TEXT, PAGING_TEXT, TOKENS_PER_SECOND, lua  # noqa: E402

from hotline import csrf  # noqa: E402

CATEGORIES = (  # first match wins, over the whole stack (";"-joined frames)
    ("sealing, wrapping, keys", ("crypto/", "nacl/")),
    ("triage", ("triage_rules/",)),
    ("multipart", ("multipart.py",)),
    ("SQL statements", ("sqlite3", "psycopg", "execute", "fetch")),
    ("aiohttp / asyncio", ("aiohttp/", "asyncio/")),
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--calm", action="store_true")
    ap.add_argument("--postgres", metavar="URL")
    ap.add_argument("--pg-cluster", action="store_true", help="a throwaway cluster, fsync on")
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    tmp = Path(tempfile.mkdtemp(prefix="hotline-profile-"))
    cluster = None
    if args.pg_cluster:
        from tests.helpers.pg_cluster import start_cluster

        cluster = start_cluster()
        scale.durable(cluster)
        args.postgres = str(cluster.new_database())
    t = scale.start("p", tmp, args.workers, args.postgres)
    try:
        value = t.cookie.split("=", 1)[1]
        tokens = [csrf.issue(t.secret, value)  # type: ignore[arg-type]
                  for _ in range(TOKENS_PER_SECOND * (args.seconds + 8))]
        lua(tmp / "s.lua", tokens, CALM_TEXT if args.calm else PAGING_TEXT, t.cookie)
        time.sleep(3)  # tokens older than web.form_min_age
        wrk = subprocess.Popen(["wrk", "-t2", "-c32", f"-d{args.seconds + 8}s", "--latency",
                                "-s", str(tmp / "s.lua"), t.url + "/report"],
                               stdout=subprocess.PIPE, text=True)
        time.sleep(4)  # warm
        raw = tmp / "raw.txt"
        subprocess.run([spy, "record", "--subprocesses", "--threads", "-r", "50",
                        "-d", str(args.seconds), "-f", "raw", "-o", str(raw),
                        "--pid", str(t.proc.pid)], capture_output=True, check=True)
        out = wrk.communicate()[0]
    finally:
        t.proc.terminate()
        t.proc.wait()
        if cluster is not None:
            cluster.close()
    print(*[ln.strip() for ln in out.splitlines() if "Requests/sec" in ln or " 99%" in ln],
          sep="\n")
    by_process: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    cats: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        procs = [f for f in frames if f.startswith("process ")]
        index = procs[-1].split("--index ")[1].split()[0] if "--index " in procs[-1] else None
        by_process["supervisor" if index is None else f"worker {index}"] += n
        leaves[frames[-1][:100]] += n
        if frames[-1].startswith("Writer._commit_batch"):  # the BEGIN/COMMIT statement itself
            cats["BEGIN IMMEDIATE / COMMIT (lock wait, fsync)"] += n
        else:
            cats[next((name for name, marks in CATEGORIES if any(m in stack for m in marks)),
                      "other")] += n
    print(f"{total} samples")
    for title, counter, k in (("process", by_process, 8), ("leaf frame", leaves, 20),
                              ("doing", cats, 10)):
        print(f"by {title}:")
        for key, n in counter.most_common(k):
            print(f"  {n / total:6.1%}  {key}")


if __name__ == "__main__":
    main()
