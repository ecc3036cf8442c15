"""Advocates' corrections (rule ids and urgencies, never content) turned into each rule's precision.

See ``triage_rules/README.md`` ("Feedback precision") for what counts as upheld.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from .metrics import URGENCIES, ratio
from .model import RuleSet
from .urgency import Urgency

__all__ = ["FeedbackRecord", "FeedbackReport", "RuleFeedback", "feedback_report", "feedback_table"]


class FeedbackRecord(NamedTuple):
    """What the service keeps when an advocate sets a tip's urgency: never content.

    A plain ``(fired_rule_ids, rules_urgency, advocate_urgency)`` tuple is
    accepted wherever a record is.
    """

    fired_rule_ids: tuple[str, ...]
    rules_urgency: Urgency
    advocate_urgency: Urgency


@dataclass(frozen=True)
class RuleFeedback:
    """How advocates judged the tips one rule fired on.

    ``level`` is what the rule claimed: its urgency floor when the rule set
    given to ``feedback_report`` knows the rule and the rule has one,
    otherwise (score-only rules, unknown rules) the urgency the rules gave the
    tip. A firing is **upheld** when the advocate's urgency is at least the
    rule's level, **lowered** otherwise. ``raised`` counts the firings where
    the advocate set a higher urgency than the rules gave (upheld, but the
    tip was under-rated). ``precision`` = upheld / firings (None without
    firings). ``advocate[r]`` counts firings by the advocate's urgency rank.
    """

    rule_id: str
    floor: Urgency | None
    known: bool
    firings: int
    upheld: int
    lowered: int
    raised: int
    advocate: tuple[int, ...]

    @property
    def precision(self) -> float | None:
        return self.upheld / self.firings if self.firings else None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "floor": self.floor.value if self.floor else None,
            "known": self.known,
            "firings": self.firings,
            "upheld": self.upheld,
            "lowered": self.lowered,
            "raised": self.raised,
            "precision": self.precision,
            "advocate": {u.value: n for u, n in zip(URGENCIES, self.advocate, strict=True)},
        }


@dataclass(frozen=True)
class FeedbackReport:
    """Every rule's precision as advocates judged it, and how urgencies were corrected.

    ``rules`` is sorted by rule id. ``confusion[rules][advocate]`` counts
    records by the rank of the urgency the rules gave and of the one the
    advocate set. ``without_rules`` counts records where no rule fired (the
    default urgency applied): when the advocate raised those, the rules missed
    something, which no rule's precision shows.
    """

    records: int
    rules: tuple[RuleFeedback, ...]
    confusion: tuple[tuple[int, ...], ...]
    without_rules: int
    raised_without_rules: int

    def rule(self, rule_id: str) -> RuleFeedback:
        for entry in self.rules:
            if entry.rule_id == rule_id:
                return entry
        raise KeyError(rule_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "without_rules": self.without_rules,
            "raised_without_rules": self.raised_without_rules,
            "rules": [entry.to_json() for entry in self.rules],
            "confusion": {
                "rows": "rules",
                "columns": "advocate",
                "order": [u.value for u in URGENCIES],
                "counts": [list(row) for row in self.confusion],
            },
        }


def feedback_report(
    records: Iterable[FeedbackRecord | tuple[tuple[str, ...], Urgency, Urgency]],
    ruleset: RuleSet | None = None,
) -> FeedbackReport:
    """Per-rule precision and the confusion matrix from advocates' urgency decisions.

    Each record is ``(fired_rule_ids, rules_urgency, advocate_urgency)``: the
    rules that fired on a tip, the urgency they gave it, and the urgency an
    advocate set. The service stores one whenever an advocate changes a tip's
    urgency (it may also store confirmations, advocate = rules, which then
    count as upheld), and never any content.

    **A rule's precision** is the fraction of its firings that the advocate
    upheld: the advocate's urgency is at least the rule's *level*, which is

    * the rule's urgency floor, when ``ruleset`` is given, knows the rule and
      the rule has a floor — an advocate who lowers a ``critical`` tip to
      ``high`` upholds a rule whose floor is ``high`` (another rule made it
      critical) and overrules one whose floor is ``critical``;
    * otherwise the urgency the rules gave the tip: the rule is upheld when
      the advocate did not lower the tip.

    Raising a tip never counts against a rule that fired (the rules were
    short, not wrong); records where no rule fired are counted apart. When
    only corrections are stored, the precision is among corrected tips: it
    says which rules advocates overrule, not how often rules are right.
    """
    floors: dict[str, Urgency | None] = {}
    if ruleset is not None:
        floors = {rule.id: rule.urgency for rule in ruleset.rules}
    size = len(URGENCIES)
    confusion = [[0] * size for _ in range(size)]
    counts: dict[str, list[int]] = {}  # rule id -> [firings, upheld, lowered, raised, *advocate]
    total = without_rules = raised_without_rules = 0
    for record in records:
        fired, given, advocate = record
        if not isinstance(given, Urgency) or not isinstance(advocate, Urgency):
            raise TypeError(f"urgencies must be Urgency values, not {given!r} / {advocate!r}")
        total += 1
        confusion[given.rank][advocate.rank] += 1
        if not fired:
            without_rules += 1
            raised_without_rules += advocate > given
            continue
        for rule_id in dict.fromkeys(fired):
            floor = floors.get(rule_id)
            level = floor if floor is not None else given
            entry = counts.setdefault(rule_id, [0] * (4 + size))
            entry[0] += 1
            if advocate >= level:
                entry[1] += 1
            else:
                entry[2] += 1
            entry[3] += advocate > given
            entry[4 + advocate.rank] += 1
    rules = tuple(
        RuleFeedback(
            rule_id=rule_id,
            floor=floors.get(rule_id),
            known=rule_id in floors,
            firings=entry[0],
            upheld=entry[1],
            lowered=entry[2],
            raised=entry[3],
            advocate=tuple(entry[4:]),
        )
        for rule_id, entry in sorted(counts.items())
    )
    return FeedbackReport(
        records=total,
        rules=rules,
        confusion=tuple(tuple(row) for row in confusion),
        without_rules=without_rules,
        raised_without_rules=raised_without_rules,
    )


def feedback_table(report: FeedbackReport) -> str:
    """Per-rule precision from advocates' feedback as a Markdown table, lowest precision first."""
    lines = [
        "| rule | floor | firings | upheld | lowered | raised | precision |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    ordered = sorted(report.rules, key=lambda e: (e.precision if e.precision is not None else 2.0, e.rule_id))
    for entry in ordered:
        floor = entry.floor.value if entry.floor else ("–" if entry.known else "(unknown rule)")
        lines.append(
            f"| {entry.rule_id} | {floor} | {entry.firings} | {entry.upheld} | {entry.lowered} "
            f"| {entry.raised} | {ratio(entry.precision)} |"
        )
    return "\n".join(lines)
