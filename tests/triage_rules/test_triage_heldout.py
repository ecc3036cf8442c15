"""The retired held-out corpus, now a tuning set: floors so that a regression fails.

``tests/data/triage_heldout.jsonl`` was the held-out corpus of the batch-4 tuning. For
issue 15 the packs were measured on it once, untouched (critical recall 0.62, precision
0.91, exact 0.67; ``triage_rules/README.md`` keeps those figures), and then tuned on its
errors, so it is **retired as a held-out**: it is no longer an honest estimate of how the
packs do on unseen text, only a corpus they must keep doing well on. The honest measure is
a new unseen set, kept outside the repository by whoever integrates. Its labels follow the
older labelling guide (in the README), which rates some messages critical that the current
definitions rate high; the floors below sit a little under what the packs reach (critical
recall 1.00, precision 0.99, exact 0.80, high recall 0.67, no low or normal rated critical).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import triage_rules
from triage_rules import Urgency, default_pack_dir, load_rules
from triage_rules.compare import Metrics, evaluate_corpus, load_corpus, metrics, metrics_table

HELDOUT = Path(__file__).resolve().parent.parent / "data" / "triage_heldout.jsonl"
README = Path(triage_rules.__file__).parent / "README.md"


@pytest.fixture(scope="module")
def result() -> Metrics:
    items = load_corpus(HELDOUT)
    return metrics(evaluate_corpus(load_rules([default_pack_dir()]), items), items)


def test_the_heldout_corpus_is_large_and_mixed() -> None:
    items = load_corpus(HELDOUT)
    assert len(items) >= 200
    assert {item.lang for item in items} == {"en", "es"}
    assert {item.urgency for item in items} == set(Urgency)
    assert sum(1 for item in items if item.hard_negative) >= 40
    assert sum(1 for item in items if item.channel == "sms") >= 50
    assert {item.note for item in items} == {"heldout"}
    # no message of the held-out corpus is in the training corpus (but for one
    # three-word "wrong number sorry", written independently in both)
    training = {item.text for item in load_corpus(HELDOUT.parent / "triage_corpus.jsonl")}
    assert training & {item.text for item in items} <= {"wrong number sorry"}


def test_retired_heldout_critical_recall_and_precision_do_not_regress(result: Metrics) -> None:
    critical = result.of(Urgency.CRITICAL)
    assert critical.recall is not None and critical.recall >= 0.95
    assert critical.precision is not None and critical.precision >= 0.92


def test_retired_heldout_never_pages_for_a_low_or_normal_message(result: Metrics) -> None:
    assert result.confusion[Urgency.LOW.rank][Urgency.CRITICAL.rank] == 0
    assert result.confusion[Urgency.NORMAL.rank][Urgency.CRITICAL.rank] == 0
    assert result.hard_negatives_critical == ()


def test_retired_heldout_accuracy_does_not_regress(result: Metrics) -> None:
    assert result.accuracy is not None and result.accuracy >= 0.76
    high = result.of(Urgency.HIGH)
    assert high.recall is not None and high.recall >= 0.6


def test_the_readme_reports_the_current_retired_heldout_numbers(result: Metrics) -> None:
    assert metrics_table(result) in README.read_text(encoding="utf-8")
