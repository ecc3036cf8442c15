"""Triage rules for Hotline: a small, linear-time rule language over reporters' texts.

Administrators write rules in TOML files (see ``RULES.md``); ``load_rules``
validates them, runs every rule's examples and compiles them with RE2;
``RuleSet.evaluate`` gives a text its urgency, score and the rules that fired,
stamped with the rule set's version; ``compare`` scores rule sets against a
labelled corpus and against advocates' corrections. This package imports only
the standard library and google-re2, and does no I/O except reading the rule
files and corpus files it is given.
"""

from .compare import (
    Change,
    CorpusError,
    CorpusIssue,
    CorpusItem,
    DiffReport,
    FeedbackRecord,
    FeedbackReport,
    Metrics,
    RuleFeedback,
    UrgencyMetrics,
    diff_rulesets,
    evaluate_corpus,
    feedback_report,
    load_corpus,
    metrics,
)
from .errors import RuleError, RuleIssue, RulesLoadError
from .loader import KNOWN_CHANNELS, default_pack_dir, load_rules
from .model import Decision, Examples, Explanation, Group, Hit, Near, Rule, RuleSet, RuleTrace
from .normalize import NormalizedText, normalize
from .urgency import Urgency

__all__ = [
    "KNOWN_CHANNELS",
    "Change",
    "CorpusError",
    "CorpusIssue",
    "CorpusItem",
    "Decision",
    "DiffReport",
    "Examples",
    "Explanation",
    "FeedbackRecord",
    "FeedbackReport",
    "Group",
    "Hit",
    "Metrics",
    "Near",
    "NormalizedText",
    "Rule",
    "RuleError",
    "RuleFeedback",
    "RuleIssue",
    "RuleSet",
    "RuleTrace",
    "RulesLoadError",
    "Urgency",
    "UrgencyMetrics",
    "default_pack_dir",
    "diff_rulesets",
    "evaluate_corpus",
    "feedback_report",
    "load_corpus",
    "load_rules",
    "metrics",
    "normalize",
]
