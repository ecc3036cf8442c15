"""The second unseen set, retired: a regression guard on text now trained on, not a measure.

``tests/data/triage_unseen2.jsonl`` (360 messages, 180 English / 180 Spanish, web, SMS
and voice styles) was written from the issue-15 urgency definitions alone, and measured
once by the integrator at rule set ``rs-e5610b1825442be1`` and reader ``rd-9fd4991f62a2``
(with the reader: critical recall 0.84, precision 0.91, exact 0.79, one normal message
rated critical; ``triage_rules/README.md`` keeps those tables). It was then retired: the
reader trains on it and leave-one-source-out holds it out as one source
(``triage_rules/train/crossval.py``). The floors below guard against regressions on a set
the reader has read: they say nothing about text never seen -- the third blind set does.
"""

from __future__ import annotations

import pytest

from tests.helpers import blind_sets
from triage_rules import Urgency
from triage_rules.compare import Metrics

UNSEEN2 = blind_sets.DATA / "triage_unseen2.jsonl"
README = blind_sets.README
C, N, L = Urgency.CRITICAL, Urgency.NORMAL, Urgency.LOW
_over = blind_sets.rated_critical_below


@pytest.fixture(scope="module")
def rules_alone() -> Metrics:
    return blind_sets.rules_alone(UNSEEN2)


@pytest.fixture(scope="module")
def with_reader() -> Metrics:
    return blind_sets.with_reader(UNSEEN2)


def test_the_set_is_large_mixed_and_tagged() -> None:
    blind_sets.assert_large_mixed_and_tagged(UNSEEN2)

def test_floors_rules_alone(rules_alone: Metrics) -> None:
    """Rules alone were not tuned on this set's messages (rs-e5610b1825442be1: recall 0.51)."""
    critical = rules_alone.of(C)
    assert critical.recall is not None and critical.recall >= 0.48
    assert critical.precision is not None and critical.precision >= 0.84
    assert rules_alone.accuracy >= 0.63
    assert _over(rules_alone) <= 1


def test_floors_with_the_reader_trained_on_it(with_reader: Metrics, rules_alone: Metrics) -> None:
    """In-sample floors (the reader trained on these messages): a regression guard only."""
    critical = with_reader.of(C)
    assert critical.recall is not None and critical.recall >= 0.93
    assert critical.precision is not None and critical.precision >= 0.88
    assert with_reader.accuracy >= 0.85
    assert _over(with_reader) <= 1
    assert with_reader.of(C).recall > rules_alone.of(C).recall  # type: ignore[operator]


def test_the_readme_keeps_the_figures_measured_once() -> None:
    text = README.read_text(encoding="utf-8")
    assert "| critical | 108 | 63 | 55 | 0.87 | 0.51 |" in text  # rules alone, rs-e5610b1825442be1
    assert "| critical | 108 | 100 | 91 | 0.91 | 0.84 |" in text  # + reader rd-9fd4991f62a2
    assert "retired" in text
