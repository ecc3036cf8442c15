"""What the compiler tells an administrator about a rule: the groups an example missed,
the words it matched, a pattern character normalised text never has.

Helpers of ``rule_reader``, kept apart so the compiler reads in one sitting.
"""

from __future__ import annotations

from collections.abc import Sequence

from .matching import Doc, GroupMatcher
from .model import Rule
from .normalize import normalize

__all__ = ["missing_groups", "quote_spans", "unreachable_characters"]


def missing_groups(rule: Rule, example: str) -> str:
    """Which groups of the rule's ``all`` / ``any`` conditions have no hit in ``example``."""
    doc = Doc(normalize(example))
    group_matchers = [m for m in rule.matchers if isinstance(m, GroupMatcher)]
    keys = (["all"] if rule.all_groups else []) + (["any"] if rule.any_groups else [])
    notes: list[str] = []
    for key, matcher in zip(keys, group_matchers, strict=False):
        found = matcher.satisfied(doc, rule.negation)
        missing = ", ".join(str(number) for number, hit in enumerate(found, 1) if not hit)
        notes.append(
            f"{key}: {sum(found)} of {len(found)} groups hit, {matcher.need} needed"
            + (f"; no hit for group {missing}" if missing else "")
        )
    return f" ({'; '.join(notes)})" if notes else ""


def quote_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    return ", ".join(f'"{text[start:end]}"' for start, end in spans)


def unreachable_characters(pattern: str) -> str | None:
    """A pattern character that normalised text never contains, explained."""
    if any(char in pattern for char in "'\u2019"):
        return (
            f"pattern {pattern!r} contains an apostrophe, which normalised text never has "
            "(write cannot, do not, ...)"
        )
    for char in pattern:
        if ord(char) < 0x80:
            continue
        folded = normalize(char).text
        if folded != char:
            instead = f"write {folded!r}" if folded else "it is not part of any word"
            return f"pattern {pattern!r} contains {char!r}, which normalised text never has ({instead})"
    return None
