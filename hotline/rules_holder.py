"""The live rule set, swapped atomically.

Readers take ``current`` once per decision, so one message is never triaged
by half of one set and half of another. A reload that fails keeps the last
good set running and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from triage_rules import RuleSet, load_rules

from .logging import get_logger


class RulesHolder:
    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)
        self.current: RuleSet = load_rules(self.paths)  # fail closed: no rules, no start

    def reload(self) -> RuleSet:
        """Load and swap; on error raise and keep the running set."""
        log = get_logger()
        try:
            fresh = load_rules(self.paths)
        except Exception:
            log.warning("rules.reload_refused", version=self.current.version)
            raise
        self.current = fresh
        log.info("rules.live", version=fresh.version, count=len(fresh.rules))
        return fresh
