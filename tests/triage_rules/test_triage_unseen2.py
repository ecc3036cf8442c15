"""The second honest measure: a fresh unseen set, measured once, never tuned on.

``tests/data/triage_unseen2.jsonl`` (360 messages, 180 English / 180 Spanish, web, SMS
and voice styles) was written from the issue-15 urgency definitions alone by someone
who opened nothing of the project, labelled message by message before the next was
written, and first read by the integrator after the packs and the second reader were
frozen, to measure them. The first unseen set had stopped being blind (its aggregate
figures guided a batch of the reader's training messages; ``triage_rules/README.md``).

The floors sit a little under what was measured (with the reader: critical recall
0.84, precision 0.91, exact 0.79, one normal message rated critical), so a regression
fails; the issue's bar (0.95 / 0.85 / none / 0.80) is above them and is not met.
The day anything is tuned from this set's errors, it is retired and a fresh one written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import triage_rules
from triage_rules import Urgency, default_pack_dir, load_rules
from triage_rules.compare import Metrics, evaluate_corpus, load_corpus, metrics, metrics_table
from triage_rules.reader import load_reader
from triage_rules.triage import raise_decisions

DATA = Path(__file__).resolve().parent.parent / "data"
UNSEEN2 = DATA / "triage_unseen2.jsonl"
README = Path(triage_rules.__file__).parent / "README.md"
C, N, L = Urgency.CRITICAL, Urgency.NORMAL, Urgency.LOW


@pytest.fixture(scope="module")
def rules_alone() -> Metrics:
    items = load_corpus(UNSEEN2)
    return metrics(evaluate_corpus(load_rules([default_pack_dir()]), items), items)


@pytest.fixture(scope="module")
def with_reader() -> Metrics:
    items = load_corpus(UNSEEN2)
    decisions = evaluate_corpus(load_rules([default_pack_dir()]), items)
    return metrics(raise_decisions(decisions, load_reader(), items), items)


def _over(m: Metrics) -> int:
    return sum(m.confusion[label.rank][C.rank] for label in (L, N))


def test_the_set_is_large_mixed_and_disjoint_from_everything_trained_on() -> None:
    items = load_corpus(UNSEEN2)
    assert len(items) >= 300
    assert {i.lang for i in items} == {"en", "es"}
    assert {i.channel for i in items} == {"web", "sms", "voice"}
    assert {i.urgency for i in items} == set(Urgency)
    assert all((i.note or "").startswith("class:") for i in items)
    texts = {i.text for i in items}
    for other in ("triage_dev.jsonl", "triage_corpus.jsonl", "triage_heldout.jsonl",
                  "triage_train_extra.jsonl", "triage_unseen.jsonl"):
        assert not texts & {i.text for i in load_corpus(DATA / other)}, other


def test_floors_rules_alone(rules_alone: Metrics) -> None:
    critical = rules_alone.of(C)
    assert critical.recall is not None and critical.recall >= 0.48
    assert critical.precision is not None and critical.precision >= 0.84
    assert rules_alone.accuracy >= 0.63
    assert _over(rules_alone) <= 1


def test_floors_with_the_second_reader(with_reader: Metrics, rules_alone: Metrics) -> None:
    critical = with_reader.of(C)
    assert critical.recall is not None and critical.recall >= 0.81
    assert critical.precision is not None and critical.precision >= 0.88
    assert with_reader.accuracy >= 0.76
    assert _over(with_reader) <= 1
    assert with_reader.of(C).recall > rules_alone.of(C).recall  # type: ignore[operator]


def test_the_readme_shows_both_tables(with_reader: Metrics, rules_alone: Metrics) -> None:
    text = README.read_text(encoding="utf-8")
    assert metrics_table(rules_alone) in text
    assert metrics_table(with_reader) in text
