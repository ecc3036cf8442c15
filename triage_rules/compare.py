"""Compare rule sets over a labelled corpus, and rules against advocates' corrections.

Pure functions over values, for administrators' ``diff`` and ``report``:

* ``load_corpus`` reads a labelled corpus (JSON lines, strictly checked);
* ``evaluate_corpus`` runs a rule set over it;
* ``metrics`` scores decisions against the labels: precision and recall per
  urgency, and the confusion matrix;
* ``diff_rulesets`` runs two rule sets over a corpus and lists every item
  whose urgency changes (no text unless asked), with both sets' metrics;
* ``feedback_report`` turns advocates' corrections (rule ids and urgencies,
  never content) into each rule's precision and a confusion matrix.

Every result has ``to_json()`` (plain dicts and lists, for ``--json``) and the
tables render as Markdown with ``metrics_table``, ``confusion_table`` and
``feedback_table``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .corpus import (
    CORPUS_KEYS,
    CorpusError,
    CorpusIssue,
    CorpusItem,
    evaluate_corpus,
    load_corpus,
    parse_corpus,
)
from .feedback import FeedbackRecord, FeedbackReport, RuleFeedback, feedback_report, feedback_table
from .metrics import (
    Metrics,
    UrgencyMetrics,
    breakdown,
    breakdown_table,
    confusion_table,
    metrics,
    metrics_table,
)
from .model import Decision, RuleSet
from .reader import Reader
from .triage import raise_decisions
from .urgency import Urgency

__all__ = [
    "CORPUS_KEYS",
    "Change",
    "CorpusError",
    "CorpusIssue",
    "CorpusItem",
    "DiffReport",
    "FeedbackRecord",
    "FeedbackReport",
    "Metrics",
    "RuleFeedback",
    "UrgencyMetrics",
    "breakdown",
    "breakdown_table",
    "confusion_table",
    "diff_rulesets",
    "evaluate_corpus",
    "feedback_report",
    "feedback_table",
    "load_corpus",
    "metrics",
    "metrics_table",
    "parse_corpus",
]


# -- diff --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One corpus item whose urgency differs between the old and the new rule set.

    ``index`` is the item's position in the corpus (from 0), ``line`` its line
    in the corpus file. ``text`` is None unless the diff was asked for texts.
    """

    index: int
    line: int
    label: Urgency
    old: Urgency
    new: Urgency
    old_rules: tuple[str, ...]
    new_rules: tuple[str, ...]
    text: str | None = None

    @property
    def effect(self) -> str:
        """``fixed`` (the new urgency is the label), ``broken`` (the old one was),
        ``better`` / ``worse`` (closer to / further from the label), or ``changed``."""
        if self.new is self.label:
            return "fixed"
        if self.old is self.label:
            return "broken"
        old_gap = abs(self.old.rank - self.label.rank)
        new_gap = abs(self.new.rank - self.label.rank)
        return "better" if new_gap < old_gap else "worse" if new_gap > old_gap else "changed"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "line": self.line,
            "label": self.label.value,
            "old": self.old.value,
            "new": self.new.value,
            "effect": self.effect,
            "old_rules": list(self.old_rules),
            "new_rules": list(self.new_rules),
        }
        if self.text is not None:
            out["text"] = self.text
        return out


@dataclass(frozen=True)
class DiffReport:
    """What changes when the old rule set is replaced by the new one, over a corpus.

    ``changes``: every item whose urgency changes, in corpus order.
    ``rules_changed``: how many items keep their urgency but fire other rules.
    ``old_groups`` / ``new_groups``: the metrics per language and per class (``metrics.breakdown``).
    """

    old_version: str
    new_version: str
    total: int
    changes: tuple[Change, ...]
    rules_changed: int
    old_metrics: Metrics
    new_metrics: Metrics
    old_groups: tuple[tuple[str, Metrics], ...] = ()
    new_groups: tuple[tuple[str, Metrics], ...] = ()
    reader: ReaderResults | None = None
    """Both sets again with the second reader's raise (``diff_rulesets(..., reader=...)``)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "total": self.total,
            "changed": len(self.changes),
            "rules_changed": self.rules_changed,
            "changes": [change.to_json() for change in self.changes],
            "old_metrics": self.old_metrics.to_json(),
            "new_metrics": self.new_metrics.to_json(),
            "old_groups": {name: result.to_json() for name, result in self.old_groups},
            "new_groups": {name: result.to_json() for name, result in self.new_groups},
            "reader": self.reader.to_json() if self.reader is not None else None,
        }


@dataclass(frozen=True)
class ReaderResults:
    """Metrics of both rule sets with the reader on (``version``: the reader's)."""

    version: str
    old_metrics: Metrics
    new_metrics: Metrics
    old_groups: tuple[tuple[str, Metrics], ...]
    new_groups: tuple[tuple[str, Metrics], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "old_metrics": self.old_metrics.to_json(),
            "new_metrics": self.new_metrics.to_json(),
            "old_groups": {name: result.to_json() for name, result in self.old_groups},
            "new_groups": {name: result.to_json() for name, result in self.new_groups},
        }


def diff_rulesets(
    old: RuleSet, new: RuleSet, items: Sequence[CorpusItem], *, include_text: bool = False,
    reader: Reader | None = None,
) -> DiffReport:
    """Run both rule sets over ``items``: the items whose urgency changes, and both sets' metrics.

    Texts are left out of the report unless ``include_text`` (the corpus is
    synthetic, but a report stays shareable without them). With a ``reader``,
    ``reader`` holds both sets' metrics again with the reader's raise; the
    changes listed are the rules' own.
    """
    old_decisions = evaluate_corpus(old, items)
    new_decisions = evaluate_corpus(new, items)
    changes: list[Change] = []
    rules_changed = 0
    for index, (item, before, after) in enumerate(zip(items, old_decisions, new_decisions, strict=True)):
        if before.urgency is not after.urgency:
            changes.append(
                Change(
                    index=index,
                    line=item.line,
                    label=item.urgency,
                    old=before.urgency,
                    new=after.urgency,
                    old_rules=before.rule_ids,
                    new_rules=after.rule_ids,
                    text=item.text if include_text else None,
                )
            )
        elif before.rule_ids != after.rule_ids:
            rules_changed += 1
    return DiffReport(
        old_version=old.version,
        new_version=new.version,
        total=len(items),
        changes=tuple(changes),
        rules_changed=rules_changed,
        old_metrics=metrics(old_decisions, items),
        new_metrics=metrics(new_decisions, items),
        old_groups=breakdown(old_decisions, items),
        new_groups=breakdown(new_decisions, items),
        reader=_with_reader(reader, old_decisions, new_decisions, items) if reader else None,
    )


def _with_reader(reader: Reader, old: Sequence[Decision], new: Sequence[Decision],
                 items: Sequence[CorpusItem]) -> ReaderResults:
    old_raised = raise_decisions(old, reader, items)
    new_raised = raise_decisions(new, reader, items)
    return ReaderResults(
        version=reader.version,
        old_metrics=metrics(old_raised, items),
        new_metrics=metrics(new_raised, items),
        old_groups=breakdown(old_raised, items),
        new_groups=breakdown(new_raised, items),
    )
