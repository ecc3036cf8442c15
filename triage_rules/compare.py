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

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from .errors import RuleError
from .model import Decision, RuleSet
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

URGENCIES: tuple[Urgency, ...] = tuple(Urgency)
CORPUS_KEYS = ("text", "urgency", "lang", "channel", "hard_negative", "note")
_REQUIRED = ("text", "urgency")


# -- the corpus --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusItem:
    """One labelled message: the urgency a trained advocate would give ``text``.

    ``line`` is the 1-based line of the item in ``source``. ``hard_negative``
    marks a message that sounds alarming but needs no urgent action (a news
    article, "I am not in danger", a question): the rules must never rate it
    ``critical``. ``note`` is free text for the corpus's authors.
    """

    text: str
    urgency: Urgency
    lang: str | None = None
    channel: str | None = None
    hard_negative: bool = False
    note: str = ""
    source: str = ""
    line: int = 0


@dataclass(frozen=True)
class CorpusIssue:
    """One problem in a corpus file."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class CorpusError(RuleError):
    """The corpus could not be read; every problem is listed as ``path:line: message``."""

    def __init__(self, issues: Iterable[CorpusIssue]) -> None:
        self.issues: tuple[CorpusIssue, ...] = tuple(issues)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)


def load_corpus(path: Path | str) -> list[CorpusItem]:
    """The items of a JSON-lines corpus file, in file order.

    Each non-blank line is one JSON object: ``text`` (text) and ``urgency``
    (``low``, ``normal``, ``high`` or ``critical``) are required; ``lang`` and
    ``channel`` (text or null), ``hard_negative`` (true/false) and ``note``
    (text) are optional; any other key is an error. Raises CorpusError listing
    every bad line as ``path:line: message``; nothing is returned unless every
    line is good and there is at least one item.
    """
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CorpusError([CorpusIssue(name, None, f"cannot read: {exc.strerror}")]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError([CorpusIssue(name, line, "not valid UTF-8 text")]) from None
    return parse_corpus(text.split("\n"), name)


def parse_corpus(lines: Iterable[str], source: str = "<corpus>") -> list[CorpusItem]:
    """``load_corpus`` on lines already read (``source`` names them in errors)."""
    items: list[CorpusItem] = []
    issues: list[CorpusIssue] = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        item = _parse_line(raw, source, number, issues)
        if item is not None:
            items.append(item)
    if not items and not issues:
        issues.append(CorpusIssue(source, None, "no items in the corpus"))
    if issues:
        raise CorpusError(issues)
    return items


def _parse_line(raw: str, source: str, number: int, issues: list[CorpusIssue]) -> CorpusItem | None:
    def fail(message: str) -> None:
        issues.append(CorpusIssue(source, number, message))

    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        fail(f"invalid JSON: {exc.msg} (column {exc.colno})")
        return None
    if not isinstance(value, dict):
        fail('each line must be a JSON object like {"text": ..., "urgency": ...}')
        return None
    before = len(issues)
    for key in value:
        if key not in CORPUS_KEYS:
            fail(f"unknown key {key!r}; allowed: {', '.join(CORPUS_KEYS)}")
    for key in _REQUIRED:
        if key not in value:
            fail(f"missing {key!r}")
    text = value.get("text", "")
    if not isinstance(text, str):
        fail("'text' must be a text")
    urgency = Urgency.NORMAL
    if "urgency" in value:
        try:
            if not isinstance(value["urgency"], str):
                raise ValueError(
                    f"unknown urgency {value['urgency']!r} (allowed: low, normal, high, critical)"
                )
            urgency = Urgency.parse(value["urgency"])
        except ValueError as exc:
            fail(f"'urgency': {exc}")
    optional: dict[str, str | None] = {}
    for key in ("lang", "channel"):
        item = value.get(key)
        if item is not None and not isinstance(item, str):
            fail(f"{key!r} must be a text or null")
            item = None
        optional[key] = item
    hard_negative = value.get("hard_negative", False)
    if not isinstance(hard_negative, bool):
        fail("'hard_negative' must be true or false")
    note = value.get("note", "")
    if not isinstance(note, str):
        fail("'note' must be a text")
    if len(issues) > before:
        return None
    return CorpusItem(
        text=text,
        urgency=urgency,
        lang=optional["lang"],
        channel=optional["channel"],
        hard_negative=hard_negative,
        note=note,
        source=source,
        line=number,
    )


def evaluate_corpus(ruleset: RuleSet, items: Sequence[CorpusItem]) -> list[Decision]:
    """The rule set's decision for every item (with the item's language and channel), in order."""
    return [ruleset.evaluate(item.text, lang=item.lang, channel=item.channel) for item in items]


# -- metrics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UrgencyMetrics:
    """How well decisions of one urgency agree with the labels.

    ``support``: items labelled with it; ``predicted``: items the rules gave
    it; ``correct``: both. ``precision`` = correct / predicted and ``recall``
    = correct / support, None when the denominator is 0.
    """

    urgency: Urgency
    support: int
    predicted: int
    correct: int

    @property
    def precision(self) -> float | None:
        return self.correct / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.correct / self.support if self.support else None

    def to_json(self) -> dict[str, Any]:
        return {
            "urgency": self.urgency.value,
            "support": self.support,
            "predicted": self.predicted,
            "correct": self.correct,
            "precision": self.precision,
            "recall": self.recall,
        }


@dataclass(frozen=True)
class Metrics:
    """Decisions scored against labels.

    ``confusion[label][decided]`` counts items by the rank (``Urgency.rank``:
    0 = low … 3 = critical) of their label and of the rules' urgency.
    ``under`` / ``over``: items rated below / above their label.
    ``hard_negatives_critical``: indices (into the items) of hard negatives
    the rules rated ``critical``.
    """

    total: int
    per_urgency: tuple[UrgencyMetrics, ...]
    confusion: tuple[tuple[int, ...], ...]
    hard_negatives: int
    hard_negatives_critical: tuple[int, ...]

    def of(self, urgency: Urgency) -> UrgencyMetrics:
        return self.per_urgency[urgency.rank]

    @property
    def correct(self) -> int:
        return sum(self.confusion[rank][rank] for rank in range(len(URGENCIES)))

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None

    @property
    def under(self) -> int:
        return sum(row[decided] for label, row in enumerate(self.confusion) for decided in range(label))

    @property
    def over(self) -> int:
        return sum(
            row[decided]
            for label, row in enumerate(self.confusion)
            for decided in range(label + 1, len(URGENCIES))
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "under": self.under,
            "over": self.over,
            "per_urgency": [entry.to_json() for entry in self.per_urgency],
            "confusion": {
                "rows": "label",
                "columns": "decided",
                "order": [u.value for u in URGENCIES],
                "counts": [list(row) for row in self.confusion],
            },
            "hard_negatives": self.hard_negatives,
            "hard_negatives_critical": list(self.hard_negatives_critical),
        }


def metrics(decisions: Sequence[Decision], items: Sequence[CorpusItem]) -> Metrics:
    """Per-urgency precision and recall of ``decisions`` against the items' labels, and the confusion matrix.

    ``decisions[i]`` is the decision for ``items[i]``.
    """
    if len(decisions) != len(items):
        raise ValueError(f"{len(decisions)} decisions for {len(items)} items")
    size = len(URGENCIES)
    confusion = [[0] * size for _ in range(size)]
    critical_negatives: list[int] = []
    for index, (decision, item) in enumerate(zip(decisions, items, strict=True)):
        confusion[item.urgency.rank][decision.urgency.rank] += 1
        if item.hard_negative and decision.urgency is Urgency.CRITICAL:
            critical_negatives.append(index)
    per_urgency = tuple(
        UrgencyMetrics(
            urgency,
            support=sum(confusion[urgency.rank]),
            predicted=sum(row[urgency.rank] for row in confusion),
            correct=confusion[urgency.rank][urgency.rank],
        )
        for urgency in URGENCIES
    )
    return Metrics(
        total=len(items),
        per_urgency=per_urgency,
        confusion=tuple(tuple(row) for row in confusion),
        hard_negatives=sum(1 for item in items if item.hard_negative),
        hard_negatives_critical=tuple(critical_negatives),
    )


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
    """

    old_version: str
    new_version: str
    total: int
    changes: tuple[Change, ...]
    rules_changed: int
    old_metrics: Metrics
    new_metrics: Metrics

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
        }


def diff_rulesets(
    old: RuleSet, new: RuleSet, items: Sequence[CorpusItem], *, include_text: bool = False
) -> DiffReport:
    """Run both rule sets over ``items``: the items whose urgency changes, and both sets' metrics.

    Texts are left out of the report unless ``include_text`` (the corpus is
    synthetic, but a report stays shareable without them).
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
    )


# -- advocates' feedback -----------------------------------------------------------------------


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


# -- tables ------------------------------------------------------------------------------------


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def metrics_table(result: Metrics) -> str:
    """Per-urgency precision and recall as a Markdown table."""
    lines = [
        "| urgency | labelled | decided | correct | precision | recall |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for entry in result.per_urgency:
        lines.append(
            f"| {entry.urgency} | {entry.support} | {entry.predicted} | {entry.correct} "
            f"| {_ratio(entry.precision)} | {_ratio(entry.recall)} |"
        )
    lines.append(
        f"| **all** | {result.total} | {result.total} | {result.correct} | "
        f"accuracy {_ratio(result.accuracy)} | under {result.under}, over {result.over} |"
    )
    return "\n".join(lines)


def confusion_table(confusion: Sequence[Sequence[int]], rows: str = "label", columns: str = "decided") -> str:
    """A confusion matrix (by urgency rank) as a Markdown table."""
    header = f"| {rows} \\ {columns} | " + " | ".join(u.value for u in URGENCIES) + " |"
    lines = [header, "|---|" + "---:|" * len(URGENCIES)]
    for urgency, row in zip(URGENCIES, confusion, strict=True):
        lines.append(f"| {urgency} | " + " | ".join(str(n) for n in row) + " |")
    return "\n".join(lines)


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
            f"| {entry.raised} | {_ratio(entry.precision)} |"
        )
    return "\n".join(lines)
