"""The typed boundary around google-re2: the only module that imports ``re2``.

Every regular expression this package runs (administrators' patterns, phrases,
negation cues) is compiled here by RE2, whose matching time is linear in the
length of the text whatever the pattern says. Python's ``re`` is never used.

All expressions are compiled case-insensitive, without capture groups (RE2
then never needs its slower submatch engines) and with RE2's own error logging
off (errors are reported to the caller instead of written to stderr).
"""

from __future__ import annotations

from typing import Any

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information; this module is its typed face


class PatternError(ValueError):
    """RE2 rejected an expression; the message is RE2's own reason."""


def _options() -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.never_capture = True
    options.log_errors = False
    return options


def _reason(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace")
    return str(arg)


class Regex:
    """A compiled RE2 expression matched against UTF-8 bytes."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        try:
            self._compiled = re2.compile(pattern, _options())
        except re2.error as exc:
            raise PatternError(_reason(exc)) from None

    def search(self, data: bytes, pos: int = 0, endpos: int | None = None) -> tuple[int, int] | None:
        """The leftmost match in ``data[pos:endpos]`` as a byte span, or None.

        ``^`` and ``$`` keep their meaning relative to the whole of ``data``:
        they do not match at ``pos`` or ``endpos``.
        """
        found = self._compiled.search(data, pos, endpos)
        if found is None:
            return None
        start, end = found.span()
        return int(start), int(end)

    def matches_empty(self) -> bool:
        """Whether the expression matches the empty string."""
        return self._compiled.fullmatch(b"") is not None


def escape(literal: str) -> str:
    """``literal`` quoted so RE2 matches it character for character."""
    return str(re2.escape(literal))
