"""The labelled corpus: strict JSON lines of messages with the urgency an advocate would give.

``load_corpus`` / ``parse_corpus`` check every line and report every problem
as ``path:line: message`` (a ``CorpusError``); ``evaluate_corpus`` runs a rule
set over the items. The ``note`` field tags an item's class (for example
``class:immediacy``), which ``metrics.breakdown`` reports on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import RuleError
from .model import Decision, RuleSet
from .urgency import Urgency

__all__ = [
    "CORPUS_KEYS",
    "CorpusError",
    "CorpusIssue",
    "CorpusItem",
    "evaluate_corpus",
    "load_corpus",
    "parse_corpus",
]

CORPUS_KEYS = ("text", "urgency", "lang", "channel", "hard_negative", "note")
_REQUIRED = ("text", "urgency")


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
