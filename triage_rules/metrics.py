"""Decisions scored against a corpus's labels: precision and recall per urgency, the confusion matrix.

``metrics`` is the whole-corpus view; ``breakdown`` the same per language and
per class (the corpus ``note``), which ``hotline rules diff`` reports.
``metrics_table`` and ``confusion_table`` render Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .corpus import CorpusItem
from .model import Decision
from .urgency import Urgency

__all__ = [
    "URGENCIES",
    "Metrics",
    "UrgencyMetrics",
    "breakdown",
    "breakdown_table",
    "confusion_table",
    "metrics",
    "metrics_table",
    "ratio",
]

URGENCIES: tuple[Urgency, ...] = tuple(Urgency)


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


def ratio(value: float | None) -> str:
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
            f"| {ratio(entry.precision)} | {ratio(entry.recall)} |"
        )
    lines.append(
        f"| **all** | {result.total} | {result.total} | {result.correct} | "
        f"accuracy {ratio(result.accuracy)} | under {result.under}, over {result.over} |"
    )
    return "\n".join(lines)


def confusion_table(confusion: Sequence[Sequence[int]], rows: str = "label", columns: str = "decided") -> str:
    """A confusion matrix (by urgency rank) as a Markdown table."""
    header = f"| {rows} \\ {columns} | " + " | ".join(u.value for u in URGENCIES) + " |"
    lines = [header, "|---|" + "---:|" * len(URGENCIES)]
    for urgency, row in zip(URGENCIES, confusion, strict=True):
        lines.append(f"| {urgency} | " + " | ".join(str(n) for n in row) + " |")
    return "\n".join(lines)


def breakdown(
    decisions: Sequence[Decision], items: Sequence[CorpusItem]
) -> tuple[tuple[str, Metrics], ...]:
    """``metrics`` per language (``lang:en``) and per class (the corpus ``note``, e.g.
    ``class:immediacy``), in that order, each sorted by name; items without a language or
    note are left out of that grouping."""
    if len(decisions) != len(items):
        raise ValueError(f"{len(decisions)} decisions for {len(items)} items")
    groups: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        if item.lang:
            groups.setdefault(f"lang:{item.lang}", []).append(index)
    for index, item in enumerate(items):
        if item.note:
            key = item.note if ":" in item.note else f"note:{item.note}"
            groups.setdefault(key, []).append(index)
    ordered = sorted(groups, key=lambda key: (not key.startswith("lang:"), key))
    return tuple(
        (key, metrics([decisions[i] for i in groups[key]], [items[i] for i in groups[key]]))
        for key in ordered
    )


def breakdown_table(groups: Sequence[tuple[str, Metrics]]) -> str:
    """One row per group: size, exact agreement, and critical precision / recall, with the
    low or normal messages rated critical (the error that pages someone for nothing)."""
    lines = [
        "| group | messages | exact | critical precision | critical recall | high precision | high recall "
        "| low/normal rated critical |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in groups:
        critical, high = result.of(Urgency.CRITICAL), result.of(Urgency.HIGH)
        false_pages = result.confusion[0][3] + result.confusion[1][3]
        lines.append(
            f"| {name} | {result.total} | {ratio(result.accuracy)} | {ratio(critical.precision)} "
            f"| {ratio(critical.recall)} | {ratio(high.precision)} | {ratio(high.recall)} | {false_pages} |"
        )
    return "\n".join(lines)
