"""What every blind-set test measures, in one place: the shipped rules alone, the rules with
the second reader, and the count issue 15 forbids (low or normal messages rated critical).

Each blind set gets its own test module (its floors are the figures it gave when measured
once); the measuring itself must be the same for all, or two sets' figures stop being
comparable.
"""

from __future__ import annotations

from pathlib import Path

import triage_rules
from triage_rules import Urgency, default_pack_dir, load_rules
from triage_rules.compare import Metrics, evaluate_corpus, load_corpus, metrics
from triage_rules.reader import load_reader
from triage_rules.triage import raise_decisions

DATA = Path(__file__).resolve().parent.parent / "data"
README = Path(triage_rules.__file__).parent / "README.md"


def rules_alone(path: Path, lang: str | None = None) -> Metrics:
    items = [i for i in load_corpus(path) if lang is None or i.lang == lang]
    return metrics(evaluate_corpus(load_rules([default_pack_dir()]), items), items)


def with_reader(path: Path, lang: str | None = None) -> Metrics:
    items = [i for i in load_corpus(path) if lang is None or i.lang == lang]
    decisions = evaluate_corpus(load_rules([default_pack_dir()]), items)
    return metrics(raise_decisions(decisions, load_reader(), items), items)


def rated_critical_below(m: Metrics) -> int:
    """Low or normal messages rated critical: each one pages an advocate for nothing."""
    return sum(m.confusion[label.rank][Urgency.CRITICAL.rank] for label in (Urgency.LOW, Urgency.NORMAL))


def assert_large_mixed_and_tagged(path: Path) -> None:
    items = load_corpus(path)
    assert len(items) >= 300
    assert {i.lang for i in items} == {"en", "es"}
    assert {i.channel for i in items} == {"web", "sms", "voice"}
    assert {i.urgency for i in items} == set(Urgency)
    assert all((i.note or "").startswith("class:") for i in items)
