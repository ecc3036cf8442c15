"""The first issue-15 unseen set, retired: a regression guard on text now trained on.

``tests/data/triage_unseen.jsonl`` was written blind from the urgency definitions by
someone who saw neither the rules nor the tuning set, and labelled before anything was
measured. Its aggregates guided the reader's training, and it is now retired: the reader
trains on it and leave-one-source-out holds it out as one source. The rules-alone floors
sit a little under what the packs reached when it was measured (critical recall 0.62,
precision 0.94, exact 0.69, three low or normal messages rated critical; the README keeps
those tables); the reader's floors are in-sample, a regression guard only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import triage_rules
from triage_rules import Urgency, default_pack_dir, load_rules
from triage_rules.compare import Metrics, evaluate_corpus, load_corpus, metrics

UNSEEN = Path(__file__).resolve().parent.parent / "data" / "triage_unseen.jsonl"
README = Path(triage_rules.__file__).parent / "README.md"
C, N, L = Urgency.CRITICAL, Urgency.NORMAL, Urgency.LOW


@pytest.fixture(scope="module")
def result() -> Metrics:
    items = load_corpus(UNSEEN)
    return metrics(evaluate_corpus(load_rules([default_pack_dir()]), items), items)


def test_the_unseen_set_is_large_mixed_and_tagged() -> None:
    items = load_corpus(UNSEEN)
    assert len(items) >= 300
    assert {i.lang for i in items} == {"en", "es"}
    assert {i.channel for i in items} == {"web", "sms", "voice"}
    assert {i.urgency for i in items} == set(Urgency)
    assert all((i.note or "").startswith("class:") for i in items)
    assert sum(1 for i in items if i.hard_negative) >= 40
    tuning = {i.text for i in load_corpus(UNSEEN.with_name("triage_dev.jsonl"))}
    assert not tuning & {i.text for i in items}


def test_floors_on_unseen_text(result: Metrics) -> None:
    critical = result.of(C)
    assert critical.recall is not None and critical.recall >= 0.58
    assert critical.precision is not None and critical.precision >= 0.90
    assert result.accuracy >= 0.65
    over = sum(result.confusion[label.rank][C.rank] for label in (L, N))
    assert over <= 3


def test_the_readme_keeps_the_figures_measured_once() -> None:
    text = README.read_text(encoding="utf-8")
    assert "| critical | 120 | 122 | 116 | 0.95 | 0.97 |" in text  # + reader rd-9fd4991f62a2


@pytest.fixture(scope="module")
def with_reader() -> Metrics:
    from triage_rules.reader import load_reader
    from triage_rules.triage import raise_decisions

    items = load_corpus(UNSEEN)
    decisions = evaluate_corpus(load_rules([default_pack_dir()]), items)
    return metrics(raise_decisions(decisions, load_reader(), items), items)


def test_floors_with_the_reader_trained_on_it(with_reader: Metrics, result: Metrics) -> None:
    """In-sample (the reader trained on these messages): a regression guard only."""
    critical = with_reader.of(C)
    assert critical.recall is not None and critical.recall >= 0.95
    assert critical.precision is not None and critical.precision >= 0.90
    assert with_reader.accuracy >= 0.85
    over = sum(with_reader.confusion[label.rank][C.rank] for label in (L, N))
    assert over <= 3
    for label in Urgency:  # it only raises: never more under-rated messages than the rules
        under = label.rank
        assert sum(with_reader.confusion[under][:under]) <= sum(result.confusion[under][:under])
