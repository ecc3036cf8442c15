"""A normalised text prepared for RE2: its bytes, word offsets and clause starts, and the helpers
that turn phrases and patterns into word-bounded expressions over it.

Every matcher (``matching``), the negation (``negation``) and the prefilter
(``prefilter``) work on a ``Doc``.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Iterable, Sequence

from ._re2 import PatternError, Regex, escape
from .normalize import NormalizedText, PreparedText

__all__ = [
    "MAX_CANDIDATES",
    "MAX_HITS",
    "MAX_TERMS",
    "Doc",
    "Span",
    "bounded",
    "check_pattern",
    "compile_reach",
    "compile_terms",
    "find_all",
    "phrase_alternation",
]

# Most spans one rule reports per text (more are not needed to decide or explain).
MAX_HITS = 32
# Most places one matcher looks at per text, negated or not.
MAX_CANDIDATES = 256
# Most occurrences of one side of a proximity condition looked at per text.
MAX_TERMS = 256

_SPACE = 0x20

Span = tuple[int, int]


# 0 for the bytes that continue a UTF-8 character, 1 for the bytes that start one.
_LEAD_BYTES = bytes(0 if 0x80 <= code < 0xC0 else 1 for code in range(256))


# How many word look-ups a Doc answers by counting spaces before it builds the table of
# word offsets: counting costs a pass over the text up to the position, the table one
# pass over every word (about as much as 10 counts on a 2,000-character text).
_COUNTED_LOOKUPS = 8
_SPACE_BYTE = b" "
_LINE_BREAK = 0x0A


class Doc:
    """A normalised text prepared for matching: bytes, word offsets, clause starts.

    ``data`` is computed at once; the word offsets (``word_starts``) and the
    byte-to-character map (for ``to_original``) on first use, since most
    texts need neither: a rule without negation or proximity fires on the
    prefilter's word alone. The first few word look-ups count the spaces
    before the position instead (words are separated by exactly one space).
    """

    __slots__ = (
        "_byte_to_char",
        "_clauses",
        "_last_words",
        "_lookups",
        "_word_starts",
        "data",
        "normalized",
    )

    def __init__(self, normalized: NormalizedText | PreparedText) -> None:
        self.normalized = normalized
        self.data = normalized.text.encode("utf-8")
        self._word_starts: list[int] | None = None
        self._byte_to_char: list[int] | None = None
        self._clauses: bytes | None = None
        self._last_words: dict[str, list[int]] | None = None
        self._lookups = 0

    def ends_of(self, words: Regex) -> list[int]:
        """Where every occurrence of ``words`` (an expression of single words) ends, left to right.

        Computed once per text and expression: rules with the same negation
        cues share it. Single words never overlap, so successive searches find
        every occurrence.
        """
        found = self._last_words
        if found is None:
            found = self._last_words = {}
        ends = found.get(words.pattern)
        if ends is None:
            ends = found[words.pattern] = [end for _, end in find_all(words, self, len(self.data) + 1)]
        return ends

    @property
    def clauses(self) -> bytes:
        """``data`` with a line break instead of the space before each word that begins a clause."""
        marked = self._clauses
        if marked is None:
            marked = self._clauses = self.normalized.clause_marked().encode("utf-8")
        return marked

    @property
    def word_starts(self) -> list[int]:
        """The byte offset where each word starts."""
        starts = self._word_starts
        if starts is None:
            char_starts: Iterable[int] = self.normalized._word_starts
            if len(self.data) == len(self.normalized.text):
                starts = list(char_starts)
            else:
                # character index -> byte offset: the offsets of the bytes that start a character
                data = self.data
                char_to_byte = list(itertools.compress(range(len(data)), data.translate(_LEAD_BYTES)))
                starts = list(map(char_to_byte.__getitem__, char_starts))
            self._word_starts = starts
        return starts

    def _char_of_byte(self) -> list[int] | None:
        """byte offset -> index of the character it belongs to (and the end -> the length); None if ASCII."""
        mapping = self._byte_to_char
        if mapping is None and len(self.data) != len(self.normalized.text):
            mapping = list(itertools.accumulate(self.data.translate(_LEAD_BYTES), initial=-1))
            del mapping[0]
            mapping.append(len(self.normalized.text))
            self._byte_to_char = mapping
        return mapping

    def word_of(self, byte: int) -> int:
        """Index of the word that byte offset ``byte`` falls in (on a space: the word before)."""
        starts = self._word_starts
        if starts is None:
            self._lookups += 1
            if self._lookups <= _COUNTED_LOOKUPS:
                return self.data.count(_SPACE_BYTE, 0, byte) if byte > 0 else 0
            starts = self.word_starts
        word = bisect_right(starts, byte) - 1
        return word if word > 0 else 0

    def word_back(self, start: int, words: int) -> int:
        """The byte offset of the word ``words`` words before the word that starts at byte ``start``."""
        starts = self._word_starts
        if starts is not None:
            return starts[bisect_right(starts, start) - 1 - words]
        rfind = self.data.rfind
        for _ in range(words):
            start = rfind(_SPACE_BYTE, 0, start - 1) + 1
        return start

    def word_byte(self, word: int) -> int:
        return self.word_starts[word]

    def clause_start(self, word: int) -> int:
        return self.normalized.clause_start(word)

    def to_original(self, span: Span) -> Span:
        """A byte span of the normalised text as a span of the original text."""
        start, end = span
        mapping = self._char_of_byte()
        if mapping is not None:
            start_char = mapping[start]
            end_char = mapping[end]
            if end < len(self.data) and (self.data[end] & 0xC0) == 0x80:
                end_char += 1  # an end inside a character rounds up
            start, end = start_char, end_char
        return self.normalized.to_original(start, end)


def bounded(body: str) -> str:
    """``body`` made to match whole words of normalised text only."""
    return f"(?:^| )(?:{body})(?: |$)"


def phrase_alternation(phrases: Iterable[str]) -> str:
    """Normalised phrases as one RE2 alternation, longest first."""
    unique = sorted(set(phrases), key=lambda p: (-len(p), p))
    return "|".join(escape(phrase) for phrase in unique)


def find_all(regex: Regex, doc: Doc, limit: int, pos: int = 0, endpos: int | None = None) -> list[Span]:
    """Up to ``limit`` word-bounded matches of ``regex``, spaces trimmed, left to right."""
    data = doc.data
    size = len(data)
    stop = size if endpos is None or endpos > size else endpos
    if pos < 0:
        pos = 0
    find = regex.find
    found: list[Span] = []
    if limit <= 0:
        return found
    while pos <= stop:
        raw_start, end = find(data, pos, stop)[0]
        if raw_start < 0:
            break
        start = raw_start + 1 if raw_start < end and data[raw_start] == _SPACE else raw_start
        if end > start and data[end - 1] == _SPACE:
            end -= 1
        if end > start:
            found.append((start, end))
            if len(found) >= limit:
                break
        # the trailing space may be the next match's leading boundary
        pos = end if end > raw_start else raw_start + 1
    return found


def compile_terms(phrases: Sequence[str], patterns: Sequence[str]) -> Regex | None:
    """One word-bounded RE2 for normalised phrases and already-checked patterns."""
    parts = [f"(?:{pattern})" for pattern in patterns]
    if phrases:
        parts.insert(0, phrase_alternation(phrases))
    if not parts:
        return None
    return Regex(bounded("|".join(parts)))


def compile_reach(a: Sequence[str], b: Sequence[str], within: int) -> Regex | None:
    """For ``NearMatcher``: an expression that matches wherever a phrase of ``a`` and one of ``b``
    are at most ``within`` words apart, one after the other, in either order.

    Only for two sides of phrases that share no word (None otherwise): their
    hits can then never overlap, so a text this expression matches nowhere has
    no pair of hits close enough. It matches any occurrences, not only the
    ones a proximity search looks at, so it may match where that search finds
    nothing; it is only ever used to skip the search.
    """
    a_words = {word for phrase in a for word in phrase.casefold().split()}
    b_words = {word for phrase in b for word in phrase.casefold().split()}
    if not a_words or not b_words or not a_words.isdisjoint(b_words):
        return None
    between = f"(?: [^ ]+){{0,{within - 1}}}" if within > 1 else ""
    first, second = phrase_alternation(a), phrase_alternation(b)
    forward = f"(?:{first}){between} (?:{second})"
    backward = f"(?:{second}){between} (?:{first})"
    try:
        return Regex(bounded(f"{forward}|{backward}"))
    except PatternError:
        return None


def check_pattern(pattern: str) -> str | None:
    """Why RE2 cannot use ``pattern`` as a rule pattern, or None if it can."""
    try:
        regex = Regex(pattern)
    except PatternError as exc:
        return f"pattern {pattern!r} is not valid RE2: {exc}"
    if regex.matches_empty():
        return f"pattern {pattern!r} matches the empty text; it must match at least one word"
    return None
