"""The eighth unseen set, retired: a regression guard on text now trained on, not a measure.

``tests/data/triage_unseen8.jsonl`` (400 messages, 200 English / 200 Spanish, web, SMS and
voice styles, 80 hard negatives) was written from the issue-15 urgency definitions alone,
and measured once at rule set ``rs-a08039edb4eb1593`` and reader ``rd-5590031ba7c3`` (the
session's final freeze; with the reader: critical recall 0.99, English 1.00, Spanish 0.98,
precision 0.95, exact 0.84, two low messages rated critical, both the rules';
``triage_rules/README.md`` keeps that table). It was then retired: the reader trains on it,
leave-one-source-out holds it out as one source, and its failures were read by class (a
denial before a danger phrase, a dare or prank, a minor's exploitation with no harm under
way summed to critical, a statement of safety the packs did not know, an intent to die in a
euphemism after a past clause). The floors below are in-sample: they guard against
regressions and say nothing about text never seen -- the next blind set does.
"""

from __future__ import annotations

import pytest

from tests.helpers import blind_sets
from triage_rules import Urgency
from triage_rules.compare import Metrics
from triage_rules.train.sources import SOURCES

UNSEEN8 = blind_sets.DATA / "triage_unseen8.jsonl"
README = blind_sets.README
C = Urgency.CRITICAL
_over = blind_sets.rated_critical_below


@pytest.fixture(scope="module")
def rules_alone() -> Metrics:
    return blind_sets.rules_alone(UNSEEN8)


@pytest.fixture(scope="module")
def with_reader() -> Metrics:
    return blind_sets.with_reader(UNSEEN8)


def test_the_set_is_large_mixed_tagged_and_retired() -> None:
    blind_sets.assert_large_mixed_and_tagged(UNSEEN8)
    assert "triage_unseen8.jsonl" in SOURCES


def test_floors_rules_alone(rules_alone: Metrics) -> None:
    """As measured once: two low messages rated critical by the rules alone (a denial, a dare);
    none since the denial, joke, minor, safety and self-harm changes (in-sample: chosen after
    reading its failures). No high rated critical by the rules either."""
    critical = rules_alone.of(C)
    assert critical.recall is not None and critical.recall >= 0.50
    assert critical.precision is not None and critical.precision >= 0.99
    assert rules_alone.accuracy >= 0.62
    assert _over(rules_alone) == 0
    assert rules_alone.confusion[Urgency.HIGH.rank][C.rank] == 0


def test_floors_with_the_reader_trained_on_it(with_reader: Metrics, rules_alone: Metrics) -> None:
    """In-sample floors (the reader trained on these messages): a regression guard only."""
    critical = with_reader.of(C)
    assert critical.recall is not None and critical.recall >= 0.99
    assert critical.precision is not None and critical.precision >= 0.95
    assert with_reader.accuracy >= 0.84
    assert _over(with_reader) == 0
    assert with_reader.of(C).recall > rules_alone.of(C).recall  # type: ignore[operator]


def test_the_readme_keeps_the_figures_measured_once() -> None:
    text = README.read_text(encoding="utf-8")
    assert "| rules + reader | all | 0.99 | 0.95 | 0.84 | 2 | no |" in text
    assert "the eighth set" in text
