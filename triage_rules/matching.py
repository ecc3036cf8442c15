"""Compiled matchers: how a rule finds its hits in a normalised text.

Everything here runs RE2 (``_re2``) over the UTF-8 bytes of the normalised
text. Phrases and patterns are wrapped in word boundaries (in normalised text
words are separated by exactly one space), so a matcher never hits half a word.

Time is linear in the length of the text whatever the rules say: each RE2
search is linear, and every loop that repeats a search stops after a fixed
number of matches (``MAX_CANDIDATES``, ``MAX_TERMS``). A rule therefore fires
when one of the first ``MAX_CANDIDATES`` places it matches is not negated, and
reports at most ``MAX_HITS`` spans.

``Prefilter`` puts every expression of a rule set into one ``RE2::Set``: one
linear pass over a text tells which expressions match it anywhere, so only
the rules that can fire run their matchers, and a rule whose negation cues
appear nowhere skips its negation searches. A matcher whose expressions do
not all match has no candidates, and a cue that matches nowhere negates
nothing, so the prefilter changes no result.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise, repeat
from operator import add

from ._re2 import PatternError, Regex, RegexSet, escape
from .normalize import NormalizedText, PreparedText

__all__ = [
    "MAX_CANDIDATES",
    "MAX_HITS",
    "MAX_TERMS",
    "Doc",
    "NearMatcher",
    "Negation",
    "Prefilter",
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


# 0 for the bytes that continue a UTF-8 character, 1 for the bytes that start one.
_LEAD_BYTES = bytes(0 if 0x80 <= code < 0xC0 else 1 for code in range(256))


class Doc:
    """A normalised text prepared for matching: bytes, word offsets, clause starts."""

    __slots__ = ("_byte_to_char", "data", "normalized", "word_starts")

    def __init__(self, normalized: NormalizedText | PreparedText) -> None:
        self.normalized = normalized
        self.data = data = normalized.text.encode("utf-8")
        char_starts: Iterable[int] = normalized._word_starts
        self.word_starts: list[int]
        if len(data) == len(normalized.text):
            self._byte_to_char: list[int] | None = None
            self.word_starts = list(char_starts)
            return
        # character index -> byte offset: the offsets of the bytes that start a character
        leads = data.translate(_LEAD_BYTES)
        char_to_byte = list(itertools.compress(range(len(data)), leads))
        # byte offset -> index of the character it belongs to (and the end -> the length)
        byte_to_char = list(itertools.accumulate(leads, initial=-1))
        del byte_to_char[0]
        byte_to_char.append(len(normalized.text))
        self._byte_to_char = byte_to_char
        self.word_starts = list(map(char_to_byte.__getitem__, char_starts))

    def word_of(self, byte: int) -> int:
        """Index of the word that byte offset ``byte`` falls in."""
        word = bisect_right(self.word_starts, byte) - 1
        return word if word > 0 else 0

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

    @property
    def regexes(self) -> tuple[Regex, ...]:
        """The expressions that must all match somewhere for this matcher to have candidates."""
        return (self._regex,)

    def candidates(self, doc: Doc) -> list[Candidate]:
        return [Candidate(spans) for spans in self.hits(doc)]

    def hits(self, doc: Doc) -> list[tuple[Span, ...]]:
        """The candidates' spans (``candidates`` without the wrapping)."""
        return [(span,) for span in find_all(self._regex, doc, MAX_CANDIDATES)]


class NearMatcher:
    """Hits where a term of side A is within ``within`` words of a term of side B."""

    __slots__ = ("_a", "_b", "_within")

    def __init__(self, a: Regex, b: Regex, within: int) -> None:
        self._a, self._b, self._within = a, b, within

    @property
    def within(self) -> int:
        return self._within

    @property
    def regexes(self) -> tuple[Regex, ...]:
        """The expressions that must all match somewhere for this matcher to have candidates."""
        return (self._a, self._b)

    def candidates(self, doc: Doc) -> list[Candidate]:
        return [Candidate(spans) for spans in self.hits(doc)]

    def hits(self, doc: Doc) -> list[tuple[Span, ...]]:
        """The candidates' spans (``candidates`` without the wrapping)."""
        a_spans = find_all(self._a, doc, MAX_TERMS)
        if not a_spans:
            return []
        b_spans = find_all(self._b, doc, MAX_TERMS)
        if not b_spans:
            return []
        b_words = [self._words(doc, span) for span in b_spans]
        b_firsts = [first for first, _ in b_words]
        widest = max(last - first for first, last in b_words)
        found: list[tuple[Span, ...]] = []
        for a_span in a_spans:
            first, last = self._words(doc, a_span)
            low = bisect_left(b_firsts, first - self._within - widest)
            high = bisect_right(b_firsts, last + self._within)
            for index in range(low, high):
                b_first, b_last = b_words[index]
                if max(0, b_first - last, first - b_last) <= self._within:
                    b_span = b_spans[index]
                    found.append((a_span, b_span) if a_span <= b_span else (b_span, a_span))
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

    @property
    def cues(self) -> Regex:
        """The cues' expression: a text it matches nowhere negates nothing."""
        return self._cues

    @property
    def window(self) -> int:
        return self._window

    @property
    def cue_words(self) -> int:
        return self._cue_words

    def negates(self, doc: Doc, spans: tuple[Span, ...]) -> bool:
        if self._before(doc, spans[0][0]):
            return True
        # a cue between two parts of the hit: the gap runs from the space after one
        # part to the space before the next
        data, find = doc.data, self._cues.find
        return any(
            end < start and find(data, end, start)[0][0] >= 0 for (_, end), (start, _) in pairwise(spans)
        )

    def _before(self, doc: Doc, start: int) -> bool:
        word_starts = doc.word_starts
        word = bisect_right(word_starts, start) - 1
        if word <= 0:
            return False  # nothing before the first word
        clause_starts = doc.normalized.clause_starts
        clause = clause_starts[bisect_right(clause_starts, word) - 1]
        nearest = word - self._window
        if nearest < clause:
            nearest = clause
        if nearest >= word:
            return False
        first = nearest - (self._cue_words - 1)
        if first < clause:
            first = clause
        # start at the space before the first word so the cue's boundary sees it
        pos = word_starts[first] - 1
        found = find_all(self._cues, doc, MAX_HITS, pos if pos > 0 else 0, start)
        return any(doc.word_of(end - 1) >= nearest for _, end in found)


Matcher = TermMatcher | NearMatcher

# Most expressions in one RE2::Set; a larger rule set uses several sets.
MAX_SET_SIZE = 512


# A rule that may fire on a text: its index in the rule set, its matchers that
# may have candidates, and whether a cue of its negation occurs in the text.
RuleCandidates = tuple[int, tuple[Matcher, ...], bool]


class Prefilter:
    """Which rules of a set can fire on a text, from one pass of ``RE2::Set`` over it.

    ``rules`` gives every rule's matchers and negation, in rule-set order.
    Every distinct expression (a matcher's terms, a proximity side, the cues)
    goes into the set once. A matcher may have candidates only when all its
    expressions match somewhere; a rule whose matchers all have none cannot
    fire. If RE2 cannot finish a pass (its DFA out of memory) or refuses an
    expression in a set, the rules concerned are simply run in full.
    """

    __slots__ = ("_everything", "_plans", "_sets", "_triggers", "_unfiltered")

    def __init__(self, rules: Sequence[tuple[Sequence[Matcher], Negation | None]]) -> None:
        ids: dict[str, int] = {}  # expression -> id, from 1 (as RegexSet.match counts)

        def id_of(regex: Regex) -> int:
            return ids.setdefault(regex.pattern, len(ids) + 1)

        plans: list[tuple[tuple[tuple[Matcher, tuple[int, ...]], ...], int]] = []
        triggers: dict[int, set[int]] = {}
        for index, (matchers, negation) in enumerate(rules):
            plan: list[tuple[Matcher, tuple[int, ...]]] = []
            for matcher in matchers:
                needed = tuple(id_of(regex) for regex in matcher.regexes)
                plan.append((matcher, needed))
                # a matcher needs all its expressions: any one of them can stand for it
                triggers.setdefault(needed[0], set()).add(index)
            plans.append((tuple(plan), id_of(negation.cues) if negation is not None else -1))
        self._plans = tuple(plans)
        self._triggers = {id_: tuple(sorted(indices)) for id_, indices in triggers.items()}
        self._sets, unfiltered = _compile_sets(list(ids), 1)
        self._unfiltered = frozenset(unfiltered)
        self._everything: tuple[RuleCandidates, ...] = tuple(
            (index, tuple(matcher for matcher, _ in plan), cues >= 0)
            for index, (plan, cues) in enumerate(plans)
            if plan
        )

    def candidates(self, data: bytes) -> Sequence[RuleCandidates]:
        """The rules that may fire on the normalised text ``data``, in rule-set order."""
        matched = set(self._unfiltered)
        for regex_set, first in self._sets:
            found = regex_set.match(data)
            if found is None:
                return self._everything
            matched.update(map(add, found, repeat(first - 1)) if first > 1 else found)
        triggers = self._triggers
        indices: set[int] = set()
        for id_ in matched:
            if id_ in triggers:
                indices.update(triggers[id_])
        result: list[RuleCandidates] = []
        plans = self._plans
        for index in sorted(indices):
            plan, cues = plans[index]
            if len(plan) == 1 and len(plan[0][1]) == 1:
                result.append((index, (plan[0][0],), cues in matched))
                continue
            active = tuple(matcher for matcher, needed in plan if matched.issuperset(needed))
            if active:
                result.append((index, active, cues in matched))
        return result


def _compile_sets(patterns: list[str], first: int) -> tuple[list[tuple[RegexSet, int]], list[int]]:
    """RE2 sets for ``patterns`` (ids ``first``...), with each set's first id; ids left out.

    A set RE2 refuses (too large) is halved until it compiles.
    """
    if not patterns:
        return [], []
    if len(patterns) <= MAX_SET_SIZE:
        try:
            return [(RegexSet(patterns), first)], []
        except PatternError:
            if len(patterns) == 1:
                return [], [first]
    half = len(patterns) // 2
    low_sets, low_left = _compile_sets(patterns[:half], first)
    high_sets, high_left = _compile_sets(patterns[half:], first + half)
    return low_sets + high_sets, low_left + high_left
