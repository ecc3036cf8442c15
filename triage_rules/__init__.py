"""Triage rules for Hotline: a small, linear-time rule language over reporters' texts.

Administrators write rules in TOML files (see ``RULES.md``); ``load_rules``
validates them, runs every rule's examples and compiles them with RE2;
``RuleSet.evaluate`` gives a text its urgency, score and the rules that fired,
stamped with the rule set's version. This package imports only the standard
library and google-re2, and does no I/O except reading the rule files.
"""

from .errors import RuleError, RuleIssue, RulesLoadError
from .loader import KNOWN_CHANNELS, default_pack_dir, load_rules
from .model import Decision, Examples, Explanation, Hit, Near, Rule, RuleSet, RuleTrace
from .normalize import NormalizedText, normalize
from .urgency import Urgency

__all__ = [
    "KNOWN_CHANNELS",
    "Decision",
    "Examples",
    "Explanation",
    "Hit",
    "Near",
    "NormalizedText",
    "Rule",
    "RuleError",
    "RuleIssue",
    "RuleSet",
    "RuleTrace",
    "RulesLoadError",
    "Urgency",
    "default_pack_dir",
    "load_rules",
    "normalize",
]
