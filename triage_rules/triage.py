"""One triage decision: the rules' decision, then the second reader's raise (if it is on).

The rules decide; the reader (``reader.py``) may only raise what they decided.
A ``Triage`` keeps both parts, so that what is recorded with a message names
the rule set's version and the reader's, and ``explain`` can show the reader's
contribution on its own line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from .corpus import CorpusItem
from .model import Decision, RuleSet
from .normalize import prepare_for_matching
from .reader import Reader, Reading, combine
from .urgency import DEFINITIONS, Urgency


@dataclass(frozen=True)
class Triage:
    """The rules' ``decision``, the reader's ``reading`` (None: reader off) and the urgency of both."""

    decision: Decision
    reading: Reading | None
    urgency: Urgency
    unread_by: str | None = None
    """The version of a reader that was on but not consulted, because the rules' urgency was
    one it cannot change (``UNREAD``); ``reading`` is then None."""

    @property
    def rules_urgency(self) -> Urgency:
        return self.decision.urgency

    @property
    def raised(self) -> bool:
        """Whether the reader raised the rules' urgency."""
        return self.urgency > self.decision.urgency

    @property
    def ruleset_version(self) -> str:
        return self.decision.ruleset_version

    @property
    def reader_version(self) -> str | None:
        return self.reading.version if self.reading is not None else self.unread_by

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return self.decision.rule_ids

    def describe_reader(self, reader: Reader | None = None) -> str:
        """The reader's line for ``explain``: version, probabilities, thresholds, and what it did."""
        reading = self.reading
        if reading is None and self.unread_by is not None:
            return f"reader {self.unread_by}: not consulted: {UNREAD[self.decision.urgency]}"
        if reading is None:
            return "reader off"
        limits = (f" (thresholds {reader.critical_threshold:.2f} / {reader.high_threshold:.2f})"
                  if reader is not None else "")
        probs = f"P(critical) {reading.p_critical:.2f}, P(high or critical) {reading.p_high:.2f}{limits}"
        capped = (reading.suggests is Urgency.CRITICAL and self.urgency is not Urgency.CRITICAL
                  and not self.decision.live and self.decision.urgency is not Urgency.LOW)
        if capped:
            did = ("suggests critical, but a rule judged the message not a live report (a story, an "
                   f"exercise): {'raised to high' if self.raised else 'no change'}")
        elif self.raised:
            did = (f"raised {self.decision.urgency} to {self.urgency}: {DEFINITIONS[self.urgency]}")
        elif reading.suggests is not None and self.decision.urgency is Urgency.LOW:
            did = (f"suggests {reading.suggests}, but a rule judged the message not a live report "
                   "(low): no change")
        elif reading.suggests is not None:
            did = f"suggests {reading.suggests}, no higher than the rules: no change"
        else:
            did = "suggests nothing: no change"
        cues = (" ; strongest critical cues: " + ", ".join(repr(c) for c in reading.cues)
                if reading.cues and self.urgency is Urgency.CRITICAL and self.raised else "")
        return f"reader {reading.version}: {probs}; {did}{cues}"

    def to_json(self) -> dict[str, object]:
        """What a triage decision records (ids, urgencies and versions; never text)."""
        return {
            "urgency": self.urgency.value,
            "rules_urgency": self.decision.urgency.value,
            "rules": list(self.decision.rule_ids),
            "ruleset_version": self.decision.ruleset_version,
            "reader": (self.reading.to_json() if self.reading is not None
                       else {"version": self.unread_by, "skipped": UNREAD[self.decision.urgency]}
                       if self.unread_by is not None else None),
        }


UNREAD: dict[Urgency, str] = {
    Urgency.CRITICAL: "the rules rated it critical, and the reader can only raise",
    Urgency.LOW: "a rule judged it not a live report (low), which the reader leaves alone",
}
"""The rules' urgencies no reading can change (``combine``), and why."""


def triage(ruleset: RuleSet, reader: Reader | None, text: str, *, lang: str | None = None,
           channel: str | None = None, cues: int = 0, read_moot: bool = True) -> Triage:
    """The rules' decision (without spans, as the service records it), raised by the reader.

    ``read_moot=False`` (intake): when the rules' urgency is one the reader cannot change
    (``UNREAD``), it is not consulted -- the urgency is the same either way -- and the
    decision says so (``unread_by``, a ``skipped`` reason in the record) rather than
    showing probabilities nobody computed.

    The text is normalised once (``prepare_for_matching``): the rules match it, and the
    reader reads the same normalised text (``Reader.read_normalized``), as ``Reader.read``
    would have normalised it again."""
    prepared = prepare_for_matching(text)  # normalised once, for the rules and the reader
    decision = ruleset.evaluate(text, lang=lang, channel=channel, spans=False, prepared=prepared)
    if not read_moot and reader is not None and decision.urgency in UNREAD:
        return Triage(decision, None, decision.urgency, unread_by=reader.version)
    reading = reader.read_normalized(prepared.text, cues=cues) if reader is not None else None
    return Triage(decision, reading, combine(decision.urgency, reading, live=decision.live))


def with_reading(decision: Decision, reader: Reader | None, text: str, *, cues: int = 0) -> Triage:
    """A rules' decision already made (e.g. by ``explain``), with the reader's raise."""
    reading = reader.read(text, cues=cues) if reader is not None else None
    return Triage(decision, reading, combine(decision.urgency, reading, live=decision.live))


def raise_decisions(decisions: Sequence[Decision], reader: Reader,
                    items: Sequence[CorpusItem]) -> list[Decision]:
    """For corpus metrics: each decision with its urgency raised by the reader (same rules fired)."""
    out: list[Decision] = []
    for decision, item in zip(decisions, items, strict=True):
        urgency = combine(decision.urgency, reader.read(item.text), live=decision.live)
        out.append(decision if urgency is decision.urgency else replace(decision, urgency=urgency))
    return out
