"""Compiled matchers: how a rule finds its hits in a normalised text.

Everything here runs RE2 (``_re2``) over the UTF-8 bytes of the normalised
text. Phrases and patterns are wrapped in word boundaries (in normalised text
words are separated by exactly one space), so a matcher never hits half a word.

Time is linear in the length of the text whatever the rules say: each RE2
search is linear, and every loop that repeats a search stops after a fixed
number of matches (``MAX_CANDIDATES``, ``MAX_TERMS``). A rule therefore fires
when one of the first ``MAX_CANDIDATES`` places it matches is not negated, and
reports at most ``MAX_HITS`` spans.

``GroupMatcher`` is the ``all`` / ``any`` condition: groups of terms, each
satisfied by a hit anywhere in the text that no cue negates; the condition
holds when at least ``need`` groups are satisfied (all of them for ``all``).

``Prefilter`` puts every expression of a rule set into one ``RE2::Set``: one
linear pass over a text tells which expressions match it anywhere, so only
the rules that can fire run their matchers, and a rule whose negation cues
appear nowhere skips its negation searches. A matcher with fewer matching
expressions than it needs has no candidates, and a cue that matches nowhere
negates nothing, so the prefilter changes no result.

A decision without spans (``fires``) stops at a rule's first hit that counts:
a phrase-and-pattern matcher whose expression the prefilter saw, with no cue
in the text, fires with no search at all. Negation works on the bytes of the
text (walking back over the single spaces between words, a clause start
marked in ``Doc.clauses``), and proximity counts words as it scans, so
neither needs a table of word offsets; ``Doc`` builds one only for the spans
``explain`` and ``evaluate`` report.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from ._re2 import Regex
from .doc import (
    _SPACE,
    _SPACE_BYTE,
    MAX_CANDIDATES,
    MAX_HITS,
    MAX_TERMS,
    Doc,
    Span,
    bounded,
    check_pattern,
    compile_reach,
    compile_terms,
    find_all,
    phrase_alternation,
)
from .negation import Negation

__all__ = [
    "MAX_CANDIDATES",
    "MAX_HITS",
    "MAX_TERMS",
    "Candidate",
    "Doc",
    "GroupMatcher",
    "Matcher",
    "NearMatcher",
    "Negation",
    "Span",
    "TermMatcher",
    "bounded",
    "check_pattern",
    "compile_reach",
    "compile_terms",
    "find_all",
    "phrase_alternation",
]


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

    def fires(self, doc: Doc, negation: Negation | None) -> bool:
        """Whether one of the first ``MAX_CANDIDATES`` hits survives ``negation``.

        The same answer as "``hits`` has a hit ``negation`` does not discard",
        searching only as far as the first surviving hit.
        """
        return _survives(self._regex, doc, negation, MAX_CANDIDATES)


def _survives(regex: Regex, doc: Doc, negation: Negation | None, limit: int) -> bool:
    """Whether one of the first ``limit`` hits of ``regex`` (``find_all``'s) survives ``negation``."""
    data = doc.data
    size = len(data)
    find = regex.find
    pos = 0
    looked = 0
    # ``negates_at``'s first test, inlined: no cue's last word ends in the window before the hit
    last_words = negation.last_words if negation is not None else None
    ends = doc.ends_of(last_words) if last_words is not None else None
    window = negation.window if negation is not None else 0
    count = data.count
    while pos <= size and looked < limit:
        raw_start, end = find(data, pos, size)[0]
        if raw_start < 0:
            return False
        start = raw_start + 1 if raw_start < end and data[raw_start] == _SPACE else raw_start
        if end > start and data[end - 1] == _SPACE:
            end -= 1
        if end > start:
            looked += 1
            if negation is None:
                return True
            if ends is not None:
                before = bisect_left(ends, start)
                if before == 0 or count(_SPACE_BYTE, ends[before - 1], start) > window:
                    return True
            if not negation.negates_at(doc, start):
                return True
        pos = end if end > raw_start else raw_start + 1
    return False


class NearMatcher:
    """Hits where a term of side A is within ``within`` words of a term of side B."""

    __slots__ = ("_a", "_b", "_reach", "_single_words", "_within")

    def __init__(
        self, a: Regex, b: Regex, within: int, reach: Regex | None = None, single_words: bool = False
    ) -> None:
        """``reach``: ``compile_reach``'s expression, when the sides allow one; a text it
        matches nowhere has no hit, so neither side is searched.

        ``single_words``: every term of both sides is one word (and ``reach`` is
        given). Then no occurrence of a side hides another, so a match of
        ``reach`` among the first ``MAX_TERMS`` words is a hit: ``fires``
        needs no other search.
        """
        self._a, self._b, self._within, self._reach = a, b, within, reach
        self._single_words = single_words and reach is not None

    def _out_of_reach(self, doc: Doc) -> bool:
        reach = self._reach
        return reach is not None and reach.find(doc.data, 0, len(doc.data))[0][0] < 0

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
        if self._out_of_reach(doc):
            return []
        a_spans = find_all(self._a, doc, MAX_TERMS)
        if not a_spans:
            return []
        b_spans = find_all(self._b, doc, MAX_TERMS)
        if not b_spans:
            return []
        a_words = _span_words(doc.data, a_spans)
        b_words = _span_words(doc.data, b_spans)
        b_firsts = [first for first, _ in b_words]
        widest = max(last - first for first, last in b_words)
        found: list[tuple[Span, ...]] = []
        for a_span, (first, last) in zip(a_spans, a_words, strict=True):
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

    def fires(self, doc: Doc, negation: Negation | None) -> bool:
        """Whether one of ``hits`` survives ``negation``.

        Without a negation to check, the two sides are searched together, left
        to right, and the search stops at the first pair close enough, or as
        soon as one side has no more terms and the other has moved out of reach.
        A pair is close enough when the later-starting term starts at most
        ``within`` words after the furthest end of the other side's terms so far.
        """
        if negation is not None:
            return any(not negation.negates(doc, spans) for spans in self.hits(doc))
        data = doc.data
        reach = self._reach
        if reach is not None:
            found, end = reach.find(data, 0, len(data))[0]
            if found < 0:
                return False
            # both terms end in the first MAX_TERMS words: each is among its side's
            # first MAX_TERMS hits, which are all its occurrences there
            if self._single_words and data.count(_SPACE_BYTE, 0, end) < MAX_TERMS:
                return True
        size = len(data)
        within = self._within
        finds = (self._a.find, self._b.find)
        positions = [0, 0]
        counts = [0, 0]
        furthest = [-1, -1]  # the last word of each side's terms so far, -1 before any
        upcoming: list[Span | None] = [None, None]

        def advance(side: int) -> None:
            find, pos = finds[side], positions[side]
            while pos <= size:
                raw_start, end = find(data, pos, size)[0]
                if raw_start < 0:
                    break
                start = raw_start + 1 if raw_start < end and data[raw_start] == _SPACE else raw_start
                if end > start and data[end - 1] == _SPACE:
                    end -= 1
                pos = end if end > raw_start else raw_start + 1
                if end > start:
                    positions[side] = pos
                    upcoming[side] = (start, end)
                    return
            positions[side] = pos
            upcoming[side] = None

        advance(0)
        advance(1)
        # word indices counted as the scan moves right: a word's index is the number
        # of spaces before it
        count = data.count
        counted_to = first = 0
        while True:
            a, b = upcoming
            if a is None and b is None:
                return False
            side = 0 if b is None or (a is not None and a[0] <= b[0]) else 1
            span = upcoming[side]
            assert span is not None
            start, end = span
            first += count(_SPACE_BYTE, counted_to, start)
            counted_to = start
            other = furthest[1 - side]
            if upcoming[1 - side] is None and (other < 0 or first - other > within):
                return False  # the other side is done, and everything further is out of reach
            if other >= 0 and first - other <= within:
                return True
            last = first + count(_SPACE_BYTE, start, end - 1)
            if last > furthest[side]:
                furthest[side] = last
            counts[side] += 1
            if counts[side] >= MAX_TERMS:
                upcoming[side] = None
            else:
                advance(side)


def _span_words(data: bytes, spans: Sequence[Span]) -> list[tuple[int, int]]:
    """The first and last word of each span (spans left to right), counting spaces as it goes."""
    count = data.count
    words: list[tuple[int, int]] = []
    counted_to = word = 0
    for start, end in spans:
        word += count(_SPACE_BYTE, counted_to, start)
        counted_to = start
        words.append((word, word + count(_SPACE_BYTE, start, end - 1)))
    return words


class GroupMatcher:
    """Groups of terms (one expression each): at least ``need`` of them must hit somewhere.

    A group is satisfied by a hit that no negation cue discards (a cue within
    the window before it, in the same clause); each group looks at no more
    than ``MAX_TERMS`` places. When the condition holds, its hits are the
    surviving hits of the satisfied groups, in group order, at most
    ``MAX_HITS`` in all.
    """

    __slots__ = ("_need", "_regexes")

    def __init__(self, regexes: Sequence[Regex], need: int) -> None:
        if not 1 <= need <= len(regexes):
            raise ValueError(f"need must be from 1 to {len(regexes)}")
        self._regexes, self._need = tuple(regexes), need

    @property
    def regexes(self) -> tuple[Regex, ...]:
        """The groups' expressions: at least ``need`` must match somewhere for a hit."""
        return self._regexes

    @property
    def need(self) -> int:
        return self._need

    def match(self, doc: Doc, negation: Negation | None) -> tuple[list[Span], list[Span]]:
        """(hits that count, hits a cue discarded); no hit counts unless ``need`` groups are satisfied."""
        kept: list[Span] = []
        negated: list[Span] = []
        satisfied = 0
        remaining = len(self._regexes)
        for regex in self._regexes:
            remaining -= 1
            if negation is None:
                found = find_all(regex, doc, max(1, MAX_HITS - len(kept)))
                survivors = found
            else:
                found = find_all(regex, doc, MAX_TERMS)
                survivors = []
                for span in found:
                    (negated if negation.negates_at(doc, span[0]) else survivors).append(span)
            if survivors:
                satisfied += 1
                kept.extend(survivors[: max(0, MAX_HITS - len(kept))])
            elif satisfied + remaining < self._need:
                return [], negated[:MAX_HITS]
        if satisfied < self._need:
            return [], negated[:MAX_HITS]
        return kept, negated[:MAX_HITS]

    def fires(self, doc: Doc, negation: Negation | None) -> bool:
        """Whether at least ``need`` groups have a hit ``negation`` does not discard."""
        satisfied = 0
        remaining = len(self._regexes)
        for regex in self._regexes:
            remaining -= 1
            if _survives(regex, doc, negation, MAX_TERMS):
                satisfied += 1
                if satisfied >= self._need:
                    return True
            elif satisfied + remaining < self._need:
                return False
        return False

    def satisfied(self, doc: Doc, negation: Negation | None) -> list[bool]:
        """For each group, whether a hit of it survives negation (for error messages)."""
        result: list[bool] = []
        for regex in self._regexes:
            found = find_all(regex, doc, MAX_TERMS)
            result.append(any(negation is None or not negation.negates(doc, (span,)) for span in found))
        return result


Matcher = TermMatcher | NearMatcher | GroupMatcher
