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

import itertools
import operator
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
    "GroupMatcher",
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


class Negation:
    """Discards a hit when a negation cue comes shortly before it.

    A cue counts when it ends within ``window`` words before the hit's first
    word, in the same clause, or when it lies between the parts of a proximity
    hit ("has no gun"). Cues are normalised phrases; ``cue_words`` is the
    number of words in the longest one.
    """

    __slots__ = ("_cue_words", "_cues", "_last_words", "_window")

    def __init__(self, cues: Regex, window: int, cue_words: int, last_words: Regex | None = None) -> None:
        self._cues, self._window, self._cue_words = cues, window, cue_words
        self._last_words = last_words

    @classmethod
    def of(cls, cues: Sequence[str], window: int) -> Negation | None:
        """The negation for normalised cue phrases (None without any)."""
        regex = compile_terms(cues, ())
        if regex is None:
            return None
        last_words = compile_terms(sorted({cue.split()[-1] for cue in cues}), ())
        return cls(regex, window, max(len(cue.split()) for cue in cues), last_words)

    @property
    def cues(self) -> Regex:
        """The cues' expression: a text it matches nowhere negates nothing."""
        return self._cues

    @property
    def last_words(self) -> Regex | None:
        """The cues' last words (one expression): a cue ends where one of them does."""
        return self._last_words

    @property
    def window(self) -> int:
        return self._window

    @property
    def cue_words(self) -> int:
        return self._cue_words

    def negates(self, doc: Doc, spans: tuple[Span, ...]) -> bool:
        if self.negates_at(doc, spans[0][0]):
            return True
        # a cue between two parts of the hit: the gap runs from the space after one
        # part to the space before the next
        data, find = doc.data, self._cues.find
        last_words = self._last_words
        ends = doc.ends_of(last_words) if last_words is not None and len(spans) > 1 else None
        for (_, end), (start, _) in pairwise(spans):
            if end >= start:
                continue
            if ends is not None:
                # a cue in the gap ends where one of its last words does, inside the gap
                after = bisect_right(ends, end)
                if after == len(ends) or ends[after] > start:
                    continue
            if find(data, end, start)[0][0] >= 0:
                return True
        return False

    def negates_at(self, doc: Doc, start: int) -> bool:
        """Whether a cue ends within the window before the word at byte ``start``, in its clause.

        ``negates`` for a hit of one span starting at ``start`` (always where
        a word starts). Works on bytes: from ``start`` it walks back over the
        separators before each word, a line break in ``doc.clauses`` being a
        clause start it does not cross.
        """
        if start <= 0:
            return False  # nothing before the first word
        last_words = self._last_words
        if last_words is not None:
            # A cue that counts ends where an occurrence of a cue's last word ends,
            # before ``start`` and at most ``window`` words before the hit's word (a
            # clause start only moves that limit closer). Most hits have none: then
            # neither the clauses nor a search are needed.
            ends = doc.ends_of(last_words)
            before = bisect_left(ends, start)
            if before == 0 or doc.data.count(_SPACE_BYTE, ends[before - 1], start) > self._window:
                return False
        marked = doc.clauses
        if marked[start - 1] == _LINE_BREAK:
            return False  # the hit's word begins its clause
        rfind = doc.data.rfind
        # the word ``window`` words back (or the clause's first word): ``nearest``
        threshold = start
        for _ in range(self._window):
            separator = rfind(_SPACE_BYTE, 0, threshold - 1)
            threshold = separator + 1
            if separator < 0 or marked[separator] == _LINE_BREAK:
                break
        # ``cue_words - 1`` words further back (or the clause's first word): ``first``
        first = threshold
        if first > 0 and marked[first - 1] != _LINE_BREAK:
            for _ in range(self._cue_words - 1):
                separator = rfind(_SPACE_BYTE, 0, first - 1)
                first = separator + 1
                if separator < 0 or marked[separator] == _LINE_BREAK:
                    break
        # start at the space before the first word so the cue's boundary sees it
        pos = first - 1 if first > 0 else 0
        # find_all(cues, doc, MAX_HITS, pos, start), stopping at the first cue whose
        # last character is in word ``nearest`` or after it
        data, find = doc.data, self._cues.find
        found = 0
        while pos <= start:
            raw_start, end = find(data, pos, start)[0]
            if raw_start < 0:
                return False
            begin = raw_start + 1 if raw_start < end and data[raw_start] == _SPACE else raw_start
            if end > begin and data[end - 1] == _SPACE:
                end -= 1
            if end > begin:
                if end > threshold:
                    return True
                found += 1
                if found >= MAX_HITS:
                    return False
            pos = end if end > raw_start else raw_start + 1
        return False


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

# Most expressions in one RE2::Set; a larger rule set uses several sets. One pass of
# one large set costs less than several passes of small ones (1,600 expressions:
# about 20 µs over 2,000 characters as one set, 60 µs as four); RE2 gets the memory
# budget ``_re2.SET_MAX_MEM`` per set to compile them.
MAX_SET_SIZE = 8192


# A rule that may fire on a text: its index in the rule set, its matchers that
# may have candidates, and whether a cue of its negation occurs in the text.
RuleCandidates = tuple[int, tuple[Matcher, ...], bool]


class Prefilter:
    """Which rules of a set can fire on a text, from one pass of ``RE2::Set`` over it.

    ``rules`` gives every rule's matchers and negation, in rule-set order.
    Every distinct expression (a matcher's terms, a proximity side, a group,
    the cues) goes into the set once. A matcher may have candidates only when
    enough of its expressions match somewhere (all of them, or a group
    matcher's ``need``); a rule whose matchers all have none cannot fire. If
    RE2 cannot finish a pass (its DFA out of memory) or refuses an expression
    in a set, the rules concerned are simply run in full.
    """

    __slots__ = ("_actions", "_everything", "_plans", "_sets", "_triggers", "_unfiltered")

    def __init__(self, rules: Sequence[tuple[Sequence[Matcher], Negation | None]]) -> None:
        ids: dict[str, int] = {}  # expression -> id, from 1 (as RegexSet.match counts)

        def id_of(regex: Regex) -> int:
            return ids.setdefault(regex.pattern, len(ids) + 1)

        plans: list[tuple[tuple[tuple[Matcher, tuple[int, ...], int], ...], int]] = []
        triggers: dict[int, set[int]] = {}
        for index, (matchers, negation) in enumerate(rules):
            plan: list[tuple[Matcher, tuple[int, ...], int]] = []
            for matcher in matchers:
                needed = tuple(id_of(regex) for regex in matcher.regexes)
                need = matcher.need if isinstance(matcher, GroupMatcher) else len(needed)
                plan.append((matcher, needed, need))
                # of the expressions a matcher needs ``need`` of, any ``need`` include one
                # of the first ``len - need + 1``: those stand for it
                for id_ in needed[: len(needed) - need + 1]:
                    triggers.setdefault(id_, set()).add(index)
            plans.append((tuple(plan), id_of(negation.cues) if negation is not None else -1))
        self._plans = tuple(plans)
        # By expression id, what a pass does when the expression matches. A rule with one
        # matcher that needs all of its expressions is listed under the first, with the
        # others it needs and what it yields but for the cue flag. Every other rule (several
        # matchers, or a group matcher that needs only some of its groups) is listed under
        # the expressions that stand for its matchers, and its plan is checked.
        direct: dict[int, list[tuple[int, tuple[Matcher, ...], int, tuple[int, ...]]]] = {}
        planned: dict[int, list[int]] = {}
        for id_, indices in triggers.items():
            for index in sorted(indices):
                steps, cues = plans[index]
                if len(steps) == 1 and steps[0][2] == len(steps[0][1]):
                    matcher, needed, _ = steps[0]
                    direct.setdefault(id_, []).append((index, (matcher,), cues, needed[1:]))
                else:
                    planned.setdefault(id_, []).append(index)
        self._actions: dict[
            int, tuple[tuple[tuple[int, tuple[Matcher, ...], int, tuple[int, ...]], ...], tuple[int, ...]]
        ] = {id_: (tuple(direct.get(id_, ())), tuple(planned.get(id_, ()))) for id_ in triggers}
        self._triggers = frozenset(triggers)
        self._sets, unfiltered = _compile_sets(list(ids), 1)
        self._unfiltered = frozenset(unfiltered)
        self._everything: tuple[RuleCandidates, ...] = tuple(
            (index, tuple(matcher for matcher, _, _ in plan), cues >= 0)
            for index, (plan, cues) in enumerate(plans)
            if plan
        )

    def matched(self, data: bytes) -> set[int] | None:
        """The ids of the expressions that match ``data`` somewhere (None: RE2 gave up)."""
        sets = self._sets
        if len(sets) == 1:
            found = sets[0][0].match(data)
            if found is None:
                return None
            matched = set(found)
        else:
            matched = set()
            for regex_set, first in sets:
                found = regex_set.match(data)
                if found is None:
                    return None
                matched.update(map(add, found, repeat(first - 1)) if first > 1 else found)
        if self._unfiltered:
            matched |= self._unfiltered
        return matched

    def candidates(self, data: bytes) -> Sequence[RuleCandidates]:
        """The rules that may fire on the normalised text ``data``, in rule-set order."""
        return self.checked_candidates(data)[0]

    def checked_candidates(self, data: bytes) -> tuple[Sequence[RuleCandidates], bool]:
        """``candidates``, and whether every expression of every matcher they list was seen to match.

        False when RE2 gave up on the pass or left expressions out of its sets:
        those are assumed to match, so a listed matcher may have no hit.
        """
        matched = self.matched(data)
        if matched is None:
            return self._everything, False
        return self._candidates(matched), not self._unfiltered

    def _candidates(self, matched: set[int]) -> list[RuleCandidates]:
        result: list[RuleCandidates] = []
        append = result.append
        pending: set[int] = set()
        actions, superset = self._actions, matched.issuperset
        for id_ in matched & self._triggers:
            direct, planned = actions[id_]
            for index, matchers, cues, others in direct:
                if not others or superset(others):
                    append((index, matchers, cues in matched))
            if planned:
                pending.update(planned)
        if pending:
            plans = self._plans
            has = matched.__contains__
            for index in pending:
                plan, cues = plans[index]
                if len(plan) == 1:
                    matcher, needed, need = plan[0]
                    if sum(map(has, needed)) >= need:
                        append((index, (matcher,), cues in matched))
                    continue
                active = tuple(
                    matcher
                    for matcher, needed, need in plan
                    if (superset(needed) if need == len(needed) else sum(map(has, needed)) >= need)
                )
                if active:
                    append((index, active, cues in matched))
        result.sort(key=_FIRST)
        return result


_FIRST = operator.itemgetter(0)


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
