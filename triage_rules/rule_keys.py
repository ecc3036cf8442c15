"""The compiler's simple keys: where a rule applies and what it gives.

``lang`` and ``channels`` (where), ``tags``, ``urgency``, ``score``, ``cap`` and the
modifier keys (``modifier``, ``to``, ``acts_on``, ``from``, ``final``, ``holds``,
``yields``): each read from one ``[[rule]]`` table and checked, every problem reported
through the ``RuleReader`` that owns the rule (its file and line). Kept apart from
``rule_reader.py``, which compiles the matching keys (phrases, patterns, ``near``,
groups, ``unless``) and runs the examples.
"""

from __future__ import annotations

from typing import Any, Protocol

from .grammar import ID_CHARS, KNOWN_CHANNELS, MAX_TAG, MODIFIER_KINDS
from .scorer import Modifier
from .urgency import Urgency

__all__ = ["channels", "languages", "modifier", "rule_cap", "tags", "urgency_and_score"]

_MODIFIER_KEYS = ("to", "acts_on", "from", "final", "holds", "yields")


class _Reader(Protocol):
    """What these functions need of ``rule_reader.RuleReader``."""

    raw: dict[str, Any]

    def issue(self, message: str, key: str | None = None, table: str = "rule",
              literal: str | None = None) -> None: ...

    def strings(self, table: dict[str, Any], key: str, where: str = "rule") -> tuple[str, ...]: ...


def languages(reader: _Reader) -> frozenset[str]:
    langs = reader.strings(reader.raw, "lang")
    for lang in langs:
        if not (2 <= len(lang) <= 3 and lang.isascii() and lang.isalpha() and lang.islower()):
            reader.issue(f"lang {lang!r} must be a lower-case language code like 'en'", "lang",
                         literal=lang)
    return frozenset(langs)


def channels(reader: _Reader) -> frozenset[str]:
    found = reader.strings(reader.raw, "channels")
    for channel in found:
        if channel not in KNOWN_CHANNELS:
            known = ", ".join(sorted(KNOWN_CHANNELS))
            reader.issue(f"unknown channel {channel!r} (known: {known})", "channels", literal=channel)
    return frozenset(found)


def tags(reader: _Reader, key: str) -> frozenset[str]:
    found = reader.strings(reader.raw, key)
    for tag in found:
        if not tag or len(tag) > MAX_TAG or not set(tag) <= ID_CHARS:
            reader.issue(f"tag {tag!r} must be 1-{MAX_TAG} of a-z 0-9 _ . -", key, literal=tag)
    return frozenset(found)


def _flag(reader: _Reader, key: str, kind: str, only: str, why: str) -> bool | None:
    """A true/false modifier key that only a ``only`` modifier may set (None: reported)."""
    value = reader.raw.get(key, False)
    if not isinstance(value, bool):
        reader.issue(f"{key} must be true or false, not {value!r}", key)
        return None
    if value and kind != only:
        reader.issue(f"{key} is only for a {only} modifier ({why})", key)
        return None
    return value


def modifier(reader: _Reader) -> Modifier | None:
    """``modifier``, ``to``, ``acts_on``, ``from``, ``final``, ``holds`` and ``yields``: a rule
    that raises or lowers the others' urgency."""
    raw = reader.raw
    kind = raw.get("modifier")
    acts_on = tags(reader, "acts_on")
    if kind is None:
        for key in _MODIFIER_KEYS:
            if key in raw:
                reader.issue(f'{key} is only for modifiers (modifier = "raise" or "lower")', key)
        return None
    if kind not in MODIFIER_KINDS:
        reader.issue(f'modifier must be "raise" or "lower", not {kind!r}', "modifier")
        return None
    value = raw.get("to")
    if value is None:
        reader.issue(f"a {kind} modifier needs to = the urgency it {kind}s to", "modifier")
        return None
    try:
        to = Urgency.parse(value if isinstance(value, str) else repr(value))
        floor = raw.get("from")
        at_least = None if floor is None else Urgency.parse(floor if isinstance(floor, str) else repr(floor))
    except ValueError as exc:
        reader.issue(str(exc), "to")
        return None
    final = _flag(reader, "final", kind, "lower", "one no raise overrides")
    holds = _flag(reader, "holds", kind, "lower", "a statement of safety no raise overrides")
    yields = _flag(reader, "yields", kind, "raise", "one that gives way to any acting lower modifier")
    if final is None or holds is None or yields is None:
        return None
    return Modifier("raise" if kind == "raise" else "lower", to, acts_on, at_least, final, holds, yields)


def rule_cap(reader: _Reader) -> Urgency | None:
    """``cap``: the most the rules may rate a message this rule fires on (not critical)."""
    value = reader.raw.get("cap")
    if value is None:
        return None
    try:
        cap = Urgency.parse(value if isinstance(value, str) else repr(value))
    except ValueError as exc:
        reader.issue(str(exc), "cap")
        return None
    if cap is Urgency.CRITICAL:
        reader.issue("cap = \"critical\" caps nothing (use low, normal or high)", "cap")
        return None
    return cap


def urgency_and_score(reader: _Reader, is_modifier: bool = False) -> tuple[Urgency | None, int]:
    raw = reader.raw
    if is_modifier:
        for key in ("urgency", "score"):
            if key in raw:
                reader.issue(f"a modifier has no {key}: it raises or lowers the others' urgency (to)", key)
        return None, 0
    urgency: Urgency | None = None
    if "urgency" in raw:
        value = raw["urgency"]
        try:
            urgency = Urgency.parse(value if isinstance(value, str) else repr(value))
        except ValueError as exc:
            reader.issue(str(exc), "urgency")
    score = raw.get("score", 0)
    if isinstance(score, bool) or not isinstance(score, int) or abs(score) > 1000:
        reader.issue("score must be a whole number from -1000 to 1000", "score")
        score = 0
    if "urgency" not in raw and not score and "cap" not in raw:
        reader.issue("rule needs an urgency, a non-zero score or a cap")
    return urgency, score
