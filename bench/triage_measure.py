"""Measure the frozen rules and reader once on a labelled JSONL set: the issue-15 bar, side by side.

Run:  .venv/bin/python bench/triage_measure.py SET.jsonl [--rules DIR ...] [--reader WEIGHTS]

For a blind set, run it once, after the packs and the weights are frozen, and record
what it prints. Prints Markdown: which rule set and reader; then, for rules alone and
for rules + the second reader (as intake decides with ``rules.reader`` on), one row per
language and one for all: critical recall, critical precision, exact urgency, low or
normal messages rated critical, and whether the issue's bar (recall ≥ 0.95, precision
≥ 0.85, none, exact ≥ 0.80) is met; then both confusion matrices, per-urgency tables,
and the per-language-and-class breakdown (the corpus ``note``). It never prints a
message's text.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from triage_rules import CorpusItem, Decision, Urgency, default_pack_dir, load_rules  # noqa: E402
from triage_rules.compare import (  # noqa: E402
    breakdown,
    breakdown_table,
    confusion_table,
    evaluate_corpus,
    load_corpus,
    metrics,
    metrics_table,
)
from triage_rules.reader import load_reader  # noqa: E402
from triage_rules.triage import raise_decisions  # noqa: E402

BAR = {"recall": 0.95, "precision": 0.85, "exact": 0.80}


def bar_rows(title: str, decisions: Sequence[Decision], items: Sequence[CorpusItem]) -> list[str]:
    rows = []
    for lang in [*sorted({item.lang or "" for item in items}), "all"]:
        at = [i for i, item in enumerate(items) if lang == "all" or (item.lang or "") == lang]
        m = metrics([decisions[i] for i in at], [items[i] for i in at])
        crit = m.of(Urgency.CRITICAL)
        over = sum(m.confusion[label.rank][Urgency.CRITICAL.rank] for label in (Urgency.LOW, Urgency.NORMAL))
        exact = m.accuracy or 0.0
        met = (crit.recall is not None and crit.recall >= BAR["recall"]
               and (crit.precision or 0.0) >= BAR["precision"] and over == 0 and exact >= BAR["exact"])

        def r(x: float | None) -> str:
            return "–" if x is None else f"{x:.2f}"
        rows.append(f"| {title} | {lang or '(none)'} | {len(at)} | {crit.support} | {r(crit.recall)} "
                    f"| {r(crit.precision)} | {exact:.2f} | {over} | {'yes' if met else 'no'} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--rules", type=Path, nargs="*", default=[default_pack_dir()])
    parser.add_argument("--reader", type=Path, default=None, help="weights file (default: the shipped one)")
    args = parser.parse_args()
    rules = load_rules(args.rules)
    reader = load_reader(args.reader)
    items = load_corpus(args.corpus)
    alone = evaluate_corpus(rules, items)
    both = raise_decisions(alone, reader, items)
    print(f"Rule set {rules.version} ({len(rules.rules)} rules), reader {reader.version}, "
          f"set {args.corpus.name} ({len(items)} messages)\n")
    print("| decided by | lang | messages | critical | critical recall | critical precision | exact "
          "| low/normal→critical | bar met |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(bar_rows("rules alone", alone, items) + bar_rows("rules + reader", both, items)))
    print()
    for title, decisions in (("Rules alone", alone), (f"Rules + reader {reader.version}", both)):
        result = metrics(decisions, items)
        print(f"### {title}\n")
        print(metrics_table(result))
        print()
        print(confusion_table(result.confusion))
        print()
        print(breakdown_table(breakdown(decisions, items)))
        print()


if __name__ == "__main__":
    main()
