"""What the second reader costs per message: the tree's reader beside the one at REV, alternating.

Run:  .venv/bin/python bench/triage_reader_ab.py REV [--rounds 6] [--budget SECONDS]

The ``triage_rules`` package (code and shipped weights) at git revision REV is unpacked
into a temporary folder; each round then times, in one fresh process per side and in
alternation (REV, tree, REV, tree, ...), the median CPU µs (``time.thread_time_ns``) of
one ``Reader.read`` on the same texts: ``triage_scale.py``'s sparse and dense texts and
labelled messages joined up to 200, 1,500 and 2,000 characters. Printed: per text kind
and length, the median over rounds and the range, for REV and for the tree, and the
ratio. CPU time, not wall time: the machine is shared; alternation spreads what the
neighbours do over both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, statistics, sys, time
from triage_rules.reader import load_reader
texts = json.load(open(sys.argv[1], encoding="utf-8"))
budget = float(sys.argv[2])
reader = load_reader()
out = {"version": reader.version}
for key, group in texts.items():
    medians = []
    for text in group:
        for _ in range(3):
            reader.read(text)
        samples = []
        deadline = time.perf_counter() + budget / len(group)
        while len(samples) < 15 or time.perf_counter() < deadline:
            start = time.thread_time_ns()
            reader.read(text)
            samples.append(time.thread_time_ns() - start)
        medians.append(statistics.median(samples) / 1000)
    out[key] = statistics.median(medians)
print(json.dumps(out))
"""


def texts() -> dict[str, list[str]]:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import random

    from reader_bench import TEXTS, corpus_texts
    from triage_scale import SEED, VOCABULARY, text_of, vocabulary

    words = vocabulary(VOCABULARY, random.Random(SEED))
    general = [word + "x" for word in vocabulary(VOCABULARY, random.Random(SEED + 1))]
    out: dict[str, list[str]] = {}
    for length in (200, 1_500, 2_000):
        out[f"sparse {length}"] = [text_of(length, words, seed, general) for seed in range(TEXTS)]
        out[f"dense {length}"] = [text_of(length, words, seed) for seed in range(TEXTS)]
        out[f"corpus {length}"] = corpus_texts(length, TEXTS)
    return out


def run(package_root: Path, text_file: Path, budget: float) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(text_file), str(budget)], env=env,
                          capture_output=True, text=True, check=True, cwd=package_root)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("rev")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--budget", type=float, default=3.0, help="seconds per side and round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        old = Path(scratch) / "old"
        old.mkdir()
        archive = subprocess.run(["git", "archive", args.rev, "triage_rules"], cwd=ROOT,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        text_file = Path(scratch) / "texts.json"
        text_file.write_text(json.dumps(texts()), encoding="utf-8")
        sides: dict[str, list[dict[str, object]]] = {"rev": [], "tree": []}
        for _ in range(args.rounds):
            sides["rev"].append(run(old, text_file, args.budget))
            sides["tree"].append(run(ROOT, text_file, args.budget))
    rev, tree = sides["rev"][0]["version"], sides["tree"][0]["version"]
    print(f"reader at {args.rev} ({rev}) vs the tree ({tree}); median CPU µs of one `read`, "
          f"median [range] over {args.rounds} alternating rounds\n")
    print(f"| text | {args.rev} µs | tree µs | tree / {args.rev} |")
    print("|---|---:|---:|---:|")
    for key in sides["rev"][0]:
        if key == "version":
            continue
        a = [float(str(r[key])) for r in sides["rev"]]
        b = [float(str(r[key])) for r in sides["tree"]]
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"| {key} | {ma:,.0f} [{min(a):,.0f}-{max(a):,.0f}] | {mb:,.0f} [{min(b):,.0f}-{max(b):,.0f}] "
              f"| {mb / ma:.2f} |")


if __name__ == "__main__":
    main()
