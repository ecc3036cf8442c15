"""A/B of the SMS webhook's front door, in process: the code at REV against the tree.

Run:  .venv/bin/python bench/sms_frontdoor_ab.py REV [--rounds 6] [--n 20000]

The front door is what every signed webhook passes before Hotline's own work:
the form parsed (``parse_form``), the ``X-Twilio-Signature`` checked
(``signature_is_valid``) and the incoming message read (``parse_incoming``),
over the same signed bodies ``bench/sms_load.py`` posts. Each round runs
both codes in fresh processes, alternating which goes first, and prints CPU
µs per webhook, median and range. No HTTP, no database: the load benches
measure those; this isolates a few-percent change their noise would hide.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
code, bench, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path[:0] = [code]
from hotline.twilio.webhook import parse_form, parse_incoming, signature_is_valid, webhook_url
import hotline.twilio.webhook as webhook
assert webhook.__file__.startswith(code), webhook.__file__  # the code under test, not the tree
sys.path.insert(1, bench)
import sms_load  # after: its harness puts the tree on sys.path
url = "https://help.example.org"
bodies = []
for i in range(n):
    form = sms_load.sms_form(sms_load.PAGING_TEXT)
    import urllib.parse
    bodies.append((urllib.parse.urlencode(form).encode(), sms_load.sign(url + sms_load.PATH, form)))
bad = 0
t = time.process_time()
for body, sig in bodies:
    form = parse_form(body)
    if not signature_is_valid(sms_load.TOKEN, webhook_url(url, sms_load.PATH), form, sig):
        bad += 1
    parse_incoming(form, max_media=10)
cpu = time.process_time() - t
assert bad == 0, bad
print(json.dumps({"us": 1e6 * cpu / n}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rev")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--n", type=int, default=20_000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hotline-sms-ab-"))
    old = tmp / "code"
    old.mkdir()
    archive = subprocess.run(["git", "archive", args.rev], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    codes = {"tree": ROOT, args.rev: old}
    results: dict[str, list[float]] = {name: [] for name in codes}
    for r in range(args.rounds):
        for name in (list(codes) if r % 2 == 0 else list(reversed(codes))):
            out = subprocess.run([sys.executable, "-c", CHILD, str(codes[name]),
                                  str(ROOT / "bench"), str(args.n)],
                                 cwd=tmp, capture_output=True, text=True, check=True)
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1])["us"])
    print("\n| code | CPU µs per webhook (parse, signature, read) |\n|---|---|")
    for name, values in results.items():
        print(f"| {name} | {statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f}) |")


if __name__ == "__main__":
    main()
