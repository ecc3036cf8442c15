"""The default pack (or any rule set) on the labelled corpus: precision and recall per urgency.

Run:  .venv/bin/python bench/triage_corpus.py [--rules DIR ...] [--corpus FILE] [--errors] [--reader]

Prints Markdown: the metrics table and the confusion matrix for the whole
corpus (what triage_rules/README.md reports, and what a test checks it
reports), a one-line-per-group table by language and class, then per language,
per subset (``note``), and the hard negatives.
With ``--errors`` it also lists every item whose urgency differs from its
label, with the rules that fired (the texts are synthetic). With ``--reader`` every
decision is raised by the shipped second reader (``triage_rules/reader.py``), as
intake does with ``rules.reader`` on.
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

CORPUS = ROOT / "tests" / "data" / "triage_corpus.jsonl"


def section(title: str, decisions: Sequence[Decision], items: Sequence[CorpusItem]) -> None:
    result = metrics(decisions, items)
    print(f"### {title} ({len(items)} messages)\n")
    print(metrics_table(result))
    print()
    print(confusion_table(result.confusion))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rules", type=Path, nargs="*", default=[default_pack_dir()])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--errors", action="store_true", help="list every mis-triaged item")
    parser.add_argument("--reader", action="store_true", help="raise with the shipped second reader")
    args = parser.parse_args()
    rules = load_rules(args.rules)
    items = load_corpus(args.corpus)
    decisions = evaluate_corpus(rules, items)
    reader_name = ""
    if args.reader:
        reader = load_reader()
        decisions = raise_decisions(decisions, reader, items)
        reader_name = f", reader {reader.version}"
    print(f"Rule set {rules.version} ({len(rules.rules)} rules){reader_name}, corpus {args.corpus.name}\n")
    section("Whole corpus", decisions, items)
    print("### By language and class (the corpus `note`)\n")
    print(breakdown_table(breakdown(decisions, items)))
    print()
    for lang in sorted({item.lang or "" for item in items}):
        chosen = [index for index, item in enumerate(items) if (item.lang or "") == lang]
        section(f"Language {lang or '(none)'}", [decisions[i] for i in chosen], [items[i] for i in chosen])
    for note in sorted({item.note for item in items if item.note}):
        chosen = [index for index, item in enumerate(items) if item.note == note]
        section(f"Subset {note}", [decisions[i] for i in chosen], [items[i] for i in chosen])
    hard = [index for index, item in enumerate(items) if item.hard_negative]
    by_urgency = {u: sum(1 for i in hard if decisions[i].urgency is u) for u in Urgency}
    print(f"### Hard negatives ({len(hard)} messages)\n")
    print("| rated | " + " | ".join(u.value for u in Urgency) + " |")
    print("|---|" + "---:|" * len(Urgency))
    print("| messages | " + " | ".join(str(by_urgency[u]) for u in Urgency) + " |")
    print()
    if args.errors:
        print("### Mis-triaged\n")
        print("| line | label | decided | score | rules | text |")
        print("|---:|---|---|---:|---|---|")
        for item, decision in zip(items, decisions, strict=True):
            if decision.urgency is not item.urgency:
                text = item.text.replace("|", "\\|")
                print(
                    f"| {item.line} | {item.urgency} | {decision.urgency} | {decision.score} "
                    f"| {', '.join(decision.rule_ids) or '–'} | {text} |"
                )


if __name__ == "__main__":
    main()
