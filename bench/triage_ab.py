"""Side by side: ``RuleSet.evaluate`` of an earlier commit against the working tree, same run.

Run:  .venv/bin/python bench/triage_ab.py [--base COMMIT] [--sizes 1000] [--length 2000]

Extracts ``triage_rules/`` as it was at ``--base`` (``git show``) into a
temporary package, loads the same generated pack (``bench/triage_scale.py``)
with both, checks that both decide the same, and times ``evaluate(text,
lang="en", spans=False)`` on five typical and five dense texts, alternating
between the two versions in short bursts (30 bursts of 40 calls per text): on
a shared machine both see the same disturbances. Each figure is the median
over the texts of the least disturbed burst median, in CPU time of the
calling thread (``time.thread_time_ns``), which the other processes on the
machine disturb less than wall time.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import triage_scale as scale  # noqa: E402

import triage_rules  # noqa: E402


def extract(commit: str, folder: Path) -> str:
    """``triage_rules/`` at ``commit`` as the package ``triage_rules_base`` in ``folder``."""
    package = folder / "triage_rules_base"
    files = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", commit, "triage_rules/"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in files:
        target = package / Path(name).relative_to("triage_rules")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(
            subprocess.run(
                ["git", "show", f"{commit}:{name}"], cwd=ROOT, check=True, capture_output=True
            ).stdout
        )
    sys.path.insert(0, str(folder))
    return "triage_rules_base"


def burst_us(function: Callable[[], object], calls: int) -> float:
    samples = []
    for _ in range(calls):
        start = time.thread_time_ns()
        function()
        samples.append(time.thread_time_ns() - start)
    return statistics.median(samples) / 1_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--base", default="3a91e44", help="the earlier commit (default: before the dense-text work)"
    )
    parser.add_argument("--sizes", default="1000", help="pack sizes, comma-separated")
    parser.add_argument("--length", type=int, default=2_000, help="characters per text")
    args = parser.parse_args()
    words = scale.vocabulary(scale.VOCABULARY, random.Random(scale.SEED))
    general = [word + "x" for word in scale.vocabulary(scale.VOCABULARY, random.Random(scale.SEED + 1))]
    with tempfile.TemporaryDirectory() as folder:
        base = importlib.import_module(extract(args.base, Path(folder)))
        print(f"| rules | text | chars | {args.base} µs | working tree µs | ratio |")
        print("|---:|---|---:|---:|---:|---:|")
        for size in (int(size) for size in args.sizes.split(",")):
            with tempfile.TemporaryDirectory() as rules_folder:
                scale.generate_pack(size, words, Path(rules_folder), modifiers=False)
                old = base.load_rules([Path(rules_folder)])
                new = triage_rules.load_rules([Path(rules_folder)])
            for kind, pool in (("typical", general), ("dense", [])):
                texts = [scale.text_of(args.length, words, seed, pool) for seed in range(5)]
                figures: dict[str, list[float]] = {"old": [], "new": []}
                for text in texts:
                    a = old.evaluate(text, lang="en", spans=False)
                    b = new.evaluate(text, lang="en", spans=False)
                    assert (a.rule_ids, a.score, a.urgency.value) == (b.rule_ids, b.score, b.urgency.value)
                    bursts: dict[str, list[float]] = {"old": [], "new": []}
                    for _ in range(30):
                        for name, rules in (("old", old), ("new", new)):
                            bursts[name].append(
                                burst_us(functools.partial(rules.evaluate, text, lang="en", spans=False), 40)
                            )
                    for name in figures:
                        figures[name].append(min(bursts[name]))
                before, after = (statistics.median(figures[name]) for name in ("old", "new"))
                print(
                    f"| {size:,} | {kind} | {args.length:,} | {before:,.1f} | {after:,.1f} | {after / before:.2f} |"
                )
                sys.stdout.flush()


if __name__ == "__main__":
    main()
