"""Compiled matchers: how a rule finds its hits in a normalised text.

Everything here runs RE2 (``_re2``) over the UTF-8 bytes of the normalised
text. Phrases and patterns are wrapped in word boundaries (in normalised text
words are separated by exactly one space), so a matcher never hits half a word.

Time is linear in the length of the text whatever the rules say: each RE2
search is linear, and every loop that repeats a search stops after a fixed
number of matches (``MAX_CANDIDATES``, ``MAX_TERMS``). A rule therefore fires
when one of the first ``MAX_CANDIDATES`` places it matches is not negated, and
reports at most ``MAX_HITS`` spans.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._re2 import PatternError, Regex, escape
from .normalize import NormalizedText

__all__ = [
    "MAX_CANDIDATES",
    "MAX_HITS",
    "MAX_TERMS",
    "Doc",
    "NearMatcher",
    "Negation",
    "Span",
    "TermMatcher",
]

# Most spans one rule reports per text (more are not needed to decide or explain).
MAX_HITS = 32
# Most places one matcher looks at per text, negated or not.
MAX_CANDIDATES = 256
# Most occurrences of one side of a proximity condition looked at per text.
MAX_TERMS = 256

_SPACE = 0x20

Span = tuple[int, int]


def _utf8_length(char: str) -> int:
    code = ord(char)
    return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4


class Doc:
    """A normalised text prepared for matching: bytes, word offsets, clause starts."""

    __slots__ = ("_byte_to_char", "data", "normalized", "word_starts")

    def __init__(self, normalized: NormalizedText) -> None:
        self.normalized = normalized
        self.data = normalized.text.encode("utf-8")
        text = normalized.text
        if len(self.data) == len(text):
            self._byte_to_char: list[int] | None = None
            self.word_starts = [start for start, _ in normalized.word_spans]
            return
        byte_to_char: list[int] = []
        char_to_byte: list[int] = []
        for index, char in enumerate(text):
            char_to_byte.append(len(byte_to_char))
            byte_to_char.extend([index] * _utf8_length(char))
        byte_to_char.append(len(text))
        self._byte_to_char = byte_to_char
        self.word_starts = [char_to_byte[start] for start, _ in normalized.word_spans]

    def word_of(self, byte: int) -> int:
        """Index of the word that byte offset ``byte`` falls in."""
        return max(bisect_right(self.word_starts, byte) - 1, 0)

    def word_byte(self, word: int) -> int:
        return self.word_starts[word]

    def clause_start(self, word: int) -> int:
        return self.normalized.clause_start(word)

    def to_original(self, span: Span) -> Span:
        """A byte span of the normalised text as a span of the original text."""
        start, end = span
        mapping = self._byte_to_char
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
    stop = len(data) if endpos is None else endpos
    found: list[Span] = []
    while len(found) < limit and pos <= stop:
        match = regex.search(data, pos, stop)
        if match is None:
            break
        raw_start, end = match
        start = raw_start + 1 if raw_start < end and data[raw_start] == _SPACE else raw_start
        if end > start and data[end - 1] == _SPACE:
            end -= 1
        if end > start:
            found.append((start, end))
        # the trailing space may be the next match's leading boundary
        pos = max(end, raw_start + 1)
    return found


def compile_terms(phrases: Sequence[str], patterns: Sequence[str]) -> Regex | None:
    """One word-bounded RE2 for normalised phrases and already-checked patterns."""
    parts = [f"(?:{pattern})" for pattern in patterns]
    if phrases:
        parts.insert(0, phrase_alternation(phrases))
    if not parts:
        return None
    return Regex(bounded("|".join(parts)))


def check_pattern(pattern: str) -> str | None:
    """Why RE2 cannot use ``pattern`` as a rule pattern, or None if it can."""
    try:
        regex = Regex(pattern)
    except PatternError as exc:
        return f"pattern {pattern!r} is not valid RE2: {exc}"
    if regex.matches_empty():
        return f"pattern {pattern!r} matches the empty text; it must match at least one word"
    return None


@dataclass(frozen=True)
class Candidate:
    """One place a matcher hit, as byte spans of the normalised text, left to right."""

    spans: tuple[Span, ...]


class TermMatcher:
    """Hits of a rule's phrases and patterns."""

    __slots__ = ("_regex",)

    def __init__(self, regex: Regex) -> None:
        self._regex = regex

    def candidates(self, doc: Doc) -> list[Candidate]:
        return [Candidate((span,)) for span in find_all(self._regex, doc, MAX_CANDIDATES)]


class NearMatcher:
    """Hits where a term of side A is within ``within`` words of a term of side B."""

    __slots__ = ("_a", "_b", "_within")

    def __init__(self, a: Regex, b: Regex, within: int) -> None:
        self._a, self._b, self._within = a, b, within

    def candidates(self, doc: Doc) -> list[Candidate]:
        a_spans = find_all(self._a, doc, MAX_TERMS)
        if not a_spans:
            return []
        b_spans = find_all(self._b, doc, MAX_TERMS)
        if not b_spans:
            return []
        b_words = [self._words(doc, span) for span in b_spans]
        b_firsts = [first for first, _ in b_words]
        widest = max(last - first for first, last in b_words)
        found: list[Candidate] = []
        for a_span in a_spans:
            first, last = self._words(doc, a_span)
            low = bisect_left(b_firsts, first - self._within - widest)
            high = bisect_right(b_firsts, last + self._within)
            for index in range(low, high):
                b_first, b_last = b_words[index]
                if max(0, b_first - last, first - b_last) <= self._within:
                    found.append(Candidate(tuple(sorted((a_span, b_spans[index])))))
                    if len(found) >= MAX_CANDIDATES:
                        return found
        return found

    @staticmethod
    def _words(doc: Doc, span: Span) -> tuple[int, int]:
        return doc.word_of(span[0]), doc.word_of(span[1] - 1)


class Negation:
    """Discards a hit when a negation cue comes shortly before it.

    A cue counts when it ends within ``window`` words before the hit's first
    word, in the same clause, or when it lies between the parts of a proximity
    hit ("has no gun"). Cues are normalised phrases; ``cue_words`` is the
    number of words in the longest one.
    """

    __slots__ = ("_cue_words", "_cues", "_window")

    def __init__(self, cues: Regex, window: int, cue_words: int) -> None:
        self._cues, self._window, self._cue_words = cues, window, cue_words

    def negates(self, doc: Doc, spans: tuple[Span, ...]) -> bool:
        if self._before(doc, spans[0][0]):
            return True
        # a cue between two parts of the hit: the gap runs from the space after one
        # part to the space before the next
        gaps = itertools.pairwise(spans)
        return any(
            end < start and self._cues.search(doc.data, end, start) is not None
            for (_, end), (start, _) in gaps
        )

    def _before(self, doc: Doc, start: int) -> bool:
        word = doc.word_of(start)
        clause = doc.clause_start(word)
        nearest = max(word - self._window, clause)
        if nearest >= word:
            return False
        first = max(nearest - (self._cue_words - 1), clause)
        # start at the space before the first word so the cue's boundary sees it
        pos = max(doc.word_byte(first) - 1, 0)
        found = find_all(self._cues, doc, MAX_HITS, pos, start)
        return any(doc.word_of(end - 1) >= nearest for _, end in found)
