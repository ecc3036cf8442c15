"""Urgency: the four levels a tip can have, totally ordered from low to critical."""

from __future__ import annotations

import enum


class Urgency(enum.Enum):
    """How soon someone must look at a tip. Ordered: LOW < NORMAL < HIGH < CRITICAL."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for LOW up to 3 for CRITICAL."""
        return _ORDER.index(self)

    @classmethod
    def parse(cls, value: str) -> Urgency:
        """The urgency named ``value`` (case and surrounding spaces ignored).

        Raises ValueError naming the allowed values.
        """
        wanted = value.strip().lower() if isinstance(value, str) else value
        for urgency in cls:
            if urgency.value == wanted:
                return urgency
        allowed = ", ".join(u.value for u in cls)
        raise ValueError(f"unknown urgency {value!r} (allowed: {allowed})")

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Urgency):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Urgency):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Urgency):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Urgency):
            return NotImplemented
        return self.rank >= other.rank

    def __str__(self) -> str:
        return self.value


_ORDER: tuple[Urgency, ...] = tuple(Urgency)


# What each urgency means: the product's definitions (PRODUCT.md, "What urgency means"), which the
# rules, the corpus labels, the paging policy and advocates' corrections all use. ``explain``
# shows the one a decision rests on.
DEFINITIONS: dict[Urgency, str] = {
    Urgency.CRITICAL: (
        "someone's life, body or liberty is in danger now or within hours (violence under way, "
        "confinement happening now, a child being harmed, people being moved tonight, intent to "
        "harm oneself, a medical emergency); page now, at any hour"
    ),
    Urgency.HIGH: (
        "ongoing exploitation or coercion with no sign of immediate danger (debt bondage, documents "
        "or phones taken, wages withheld, threats of deportation or to family far away); reply "
        "within hours"
    ),
    Urgency.NORMAL: (
        "needs a reply, with no current coercion (a past or resolved situation, a survivor seeking "
        "support, worries without specifics)"
    ),
    Urgency.LOW: "questions, information requests, tests, nothing that suggests exploitation",
}
