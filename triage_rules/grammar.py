"""The grammar of a rule file: its keys, their limits, and the message for a key it does not know.

``RULES.md`` is the prose of this grammar; ``loader`` reads files with it
and ``rule_reader`` validates and compiles each ``[[rule]]`` block by it.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

__all__ = [
    "DEFAULT_NEGATION_WINDOW",
    "EXAMPLE_KEYS",
    "GROUP_KEYS",
    "ID_CHARS",
    "KNOWN_CHANNELS",
    "LIST_PREFIX",
    "MAX_GROUPS",
    "MAX_ID_LENGTH",
    "MAX_LIST_NAME",
    "MAX_NEGATION_WINDOW",
    "MAX_TAG",
    "MAX_WITHIN",
    "MODIFIER_KINDS",
    "NEAR_KEYS",
    "PACK_KEYS",
    "RULE_KEYS",
    "TOP_KEYS",
    "unknown_key_message",
]

KNOWN_CHANNELS = frozenset({"web", "sms", "voice"})
DEFAULT_NEGATION_WINDOW = 3
MAX_NEGATION_WINDOW = 20
MAX_WITHIN = 50
MAX_ID_LENGTH = 100

TOP_KEYS = ("pack", "lists", "rule")
PACK_KEYS = ("name", "description", "default_urgency", "thresholds")
RULE_KEYS = (
    "id",
    "description",
    "lang",
    "channels",
    "phrases",
    "patterns",
    "near",
    "all",
    "any",
    "at_least",
    "unless",
    "negation_window",
    "urgency",
    "score",
    "cap",
    "tags",
    "modifier",
    "to",
    "final",
    "holds",
    "yields",
    "acts_on",
    "from",
    "examples",
)
NEAR_KEYS = ("a", "b", "a_patterns", "b_patterns", "within")
GROUP_KEYS = ("phrases", "patterns")
MAX_GROUPS = 16
MAX_LIST_NAME = 64
MODIFIER_KINDS = ("raise", "lower")
MAX_TAG = 64
EXAMPLE_KEYS = ("match", "no_match")
ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")
LIST_PREFIX = "@"


def unknown_key_message(key: str, allowed: Sequence[str], where: str) -> str:
    message = f"unknown key {key!r} in {where}"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return message + f"; allowed: {', '.join(allowed)}"
