"""The package's errors: one root, and the load error that lists every issue found."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class RuleError(Exception):
    """Root of every error raised by ``triage_rules``."""


@dataclass(frozen=True)
class RuleIssue:
    """One problem in a rule file: where it is and what is wrong.

    ``line`` is 1-based, or None when the problem has no single line (a file
    that cannot be read, a set with no rules at all).
    """

    path: str
    line: int | None
    rule_id: str | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        rule = "" if self.rule_id is None else f"[{self.rule_id}] "
        return f"{where}: {rule}{self.message}"


class RulesLoadError(RuleError):
    """The rule files could not be loaded; nothing from them may be used.

    Every issue found in every file is listed, one per line, as
    ``path:line: [rule_id] message``.
    """

    def __init__(self, issues: Iterable[RuleIssue]) -> None:
        self.issues: tuple[RuleIssue, ...] = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)
