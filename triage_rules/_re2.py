"""The typed boundary around google-re2: the only module that imports ``re2``.

Every regular expression this package runs (administrators' patterns, phrases,
negation cues) is compiled here by RE2, whose matching time is linear in the
length of the text whatever the pattern says. Python's ``re`` is never used.

All expressions are compiled case-insensitive, without capture groups (RE2
then never needs its slower submatch engines) and with RE2's own error logging
off (errors are reported to the caller instead of written to stderr).

Searching runs for every rule a text may fire, so ``Regex.find`` calls the
compiled expression's ``Match`` (google-re2's own binding, which its
``search`` calls) directly, skipping the generator and match object ``search``
builds; if that binding is not there (another google-re2 version), it uses
``search``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information; this module is its typed face


class PatternError(ValueError):
    """RE2 rejected an expression; the message is RE2's own reason."""


# Memory budget of one RE2::Set (its compiled program and DFA cache). RE2's default
# (8 MiB) refuses sets of a few thousand expressions, and a small DFA cache makes a
# pass slower; this is an upper bound, not an allocation: a set uses what its
# expressions and texts need (the default pack's, well under 1 MiB).
SET_MAX_MEM = 64 << 20


def _options(max_mem: int | None = None) -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.never_capture = True
    options.log_errors = False
    if max_mem is not None:
        options.max_mem = max_mem
    return options


def _reason(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace")
    return str(arg)


_NO_MATCH = ((-1, -1),)
_UNANCHORED = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)

SpanFinder = Callable[[bytes, int, int], Sequence[tuple[int, int]]]


class Regex:
    """A compiled RE2 expression matched against UTF-8 bytes."""

    __slots__ = ("_compiled", "find", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        try:
            self._compiled = re2.compile(pattern, _options())
        except re2.error as exc:
            raise PatternError(_reason(exc)) from None
        binding = getattr(getattr(self._compiled, "_regexp", None), "Match", None)
        self.find: SpanFinder = (
            functools.partial(binding, _UNANCHORED)
            if binding is not None and _UNANCHORED is not None
            else self._find_with_search
        )
        """``find(data, pos, endpos)[0]``: the leftmost match in ``data[pos:endpos]`` as a
        byte span, ``(-1, -1)`` if none; needs ``0 <= pos <= endpos <= len(data)``. The
        fastest way to search: the matching loops call it directly."""

    @property
    def compiled(self) -> Any:
        """google-re2's compiled object (for the tests' reference path)."""
        return self._compiled

    def search(self, data: bytes, pos: int = 0, endpos: int | None = None) -> tuple[int, int] | None:
        """The leftmost match in ``data[pos:endpos]`` as a byte span, or None.

        ``^`` and ``$`` keep their meaning relative to the whole of ``data``:
        they do not match at ``pos`` or ``endpos``.
        """
        size = len(data)
        pos = 0 if pos < 0 else size if pos > size else pos
        endpos = size if endpos is None or endpos > size else 0 if endpos < 0 else endpos
        if pos > endpos:
            return None
        start, end = self.find(data, pos, endpos)[0]
        if start < 0:
            return None
        return int(start), int(end)

    def _find_with_search(self, data: bytes, pos: int, endpos: int) -> Sequence[tuple[int, int]]:
        found = self._compiled.search(data, pos, endpos)
        if found is None:
            return _NO_MATCH
        start, end = found.span()
        return ((int(start), int(end)),)

    def matches_empty(self) -> bool:
        """Whether the expression matches the empty string."""
        return self._compiled.fullmatch(b"") is not None


def escape(literal: str) -> str:
    """``literal`` quoted so RE2 matches it character for character."""
    return str(re2.escape(literal))


class RegexSet:
    """Several RE2 expressions matched together: which of them match somewhere in a text.

    One pass of RE2's DFA over the text (``RE2::Set``), however many
    expressions there are. ``^`` and ``$`` mean the whole text, as in
    ``Regex.search``, so an expression the set does not report has no match
    anywhere in the text, not even in a part of it. Raises PatternError if RE2
    refuses the expressions together (too large).
    """

    __slots__ = ("_set", "size")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.size = len(patterns)
        compiled = re2.Set.SearchSet(_options(SET_MAX_MEM))
        try:
            # The empty expression matches every text, so a successful match
            # always reports it: no report at all means RE2 gave up.
            compiled.Add("")
            for pattern in patterns:
                compiled.Add(pattern)
            compiled.Compile()
        except re2.error as exc:
            raise PatternError(_reason(exc)) from None
        self._set = compiled

    def match(self, data: bytes) -> list[int] | None:
        """Which expressions match ``data``: their positions in the patterns given, counted from 1.

        The list may also hold 0, which stands for no expression. None when
        RE2 could not finish (its DFA ran out of memory): the caller must then
        assume that every expression may match.
        """
        found: list[int] | None = self._set.Match(data)
        return found or None
