"""Where the SMS webhook spends its time at saturation: py-spy over one ``hotline serve``.

Run:  .venv/bin/python bench/profile_sms.py [--calm] [--seconds 10] [--rev REV]
Needs wrk and py-spy (``.venv/bin/pip install py-spy``). Prints, does not write.
Run it under the shared bench lock, like the load benches.

Starts the server as ``bench/sms_load.py`` does (same instance, same signed
webhooks, a fresh MessageSid and sender per request), puts ``wrk -t2 -c32``
on it, and samples every thread for ``--seconds`` (on-CPU samples only).
Prints the top leaf frames and the inclusive share of the functions a
webhook passes through (a function counted once per sample it is on the
stack of), so a cost can be followed from the handler down.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import sms_load  # noqa: E402
from intake_load import start_hotline  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calm", action="store_true")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rev", help="profile the code at REV instead of the tree")
    ap.add_argument("--top", type=int, default=45)
    args = ap.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    tmp = Path(tempfile.mkdtemp(prefix="hotline-sms-profile-"))
    os.environ.update(sms_load.twilio_env())
    code = ROOT
    if args.rev:
        code = tmp / "code"
        code.mkdir()
        archive = subprocess.run(["git", "archive", args.rev], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
    t = start_hotline("p", code, tmp)
    try:
        text = sms_load.CALM_TEXT if args.calm else sms_load.PAGING_TEXT
        sms_load.write_signed(tmp / "s.tsv", t.url, text, sms_load.PER_SECOND * (args.seconds + 6))
        sms_load.lua(tmp / "s.lua", tmp / "s.tsv", 2)
        wrk = subprocess.Popen(["wrk", "-t2", "-c32", f"-d{args.seconds + 6}s", "--latency",
                                "-s", str(tmp / "s.lua"), t.url + sms_load.PATH],
                               stdout=subprocess.PIPE, text=True)
        time.sleep(3)  # warm
        raw = tmp / "raw.txt"
        subprocess.run([spy, "record", "--threads", "-r", "100", "-d", str(args.seconds),
                        "-f", "raw", "-o", str(raw), "--pid", str(t.proc.pid)],
                       capture_output=True, check=True)
        out = wrk.communicate()[0]
    finally:
        t.proc.terminate()
        t.proc.wait()
    print(*[ln.strip() for ln in out.splitlines() if "Requests/sec" in ln or " 99%" in ln],
          sep="\n")
    leaves: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        threads[frames[0][:60]] += n
        leaves[frames[-1][:110]] += n
        for f in set(frames[1:]):
            inclusive[f[:110]] += n
    print(f"{total} samples ({raw})")
    for title, counter, k in (("thread", threads, 8), ("leaf frame", leaves, 25),
                              ("function, inclusive", inclusive, args.top)):
        print(f"by {title}:")
        for key, n in counter.most_common(k):
            print(f"  {n / total:6.1%}  {key}")


if __name__ == "__main__":
    main()
