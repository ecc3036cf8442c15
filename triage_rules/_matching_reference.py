"""The original matching path: the specification ``RuleSet.evaluate`` must meet.

``evaluate`` here is what ``RuleSet.evaluate`` did before it was rewritten for
speed: the original, character-by-character normalisation
(``_normalize_reference``), the original ``Doc``, and every rule's every
matcher run and traced in full with the original search loops, on the same
compiled expressions the rule set holds. Only the tests import this module:
they check that ``RuleSet.evaluate`` gives the same decisions, hits and spans.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from ._normalize_reference import normalize
from ._re2 import Regex
from .matching import (
    MAX_CANDIDATES,
    MAX_HITS,
    MAX_TERMS,
    GroupMatcher,
    NearMatcher,
    Negation,
    Span,
    TermMatcher,
)
from .model import Decision, Hit, Rule, RuleSet
from .normalize import NormalizedText

_SPACE = 0x20


def evaluate(rules: RuleSet, text: str, *, lang: str | None = None, channel: str | None = None) -> Decision:
    """The decision the original ``RuleSet.evaluate`` made for ``text``."""
    doc = ReferenceDoc(normalize(text))
    fired: list[Hit] = []
    for rule in rules.rules:
        if not rule.applies(lang=lang, channel=channel):
            continue
        kept = trace(rule, doc)
        if kept:
            fired.append(rule.hit(kept))
    return rules.decide(tuple(fired))


def trace(rule: Rule, doc: ReferenceDoc) -> tuple[Span, ...]:
    """The spans of ``rule``'s hits that count (the original ``Rule.trace``)."""
    kept: list[Span] = []
    negated: list[Span] = []
    for matcher in rule.matchers:
        if isinstance(matcher, GroupMatcher):
            if len(kept) < MAX_HITS:
                kept.extend(doc.to_original(span) for span in group_hits(matcher, rule.negation, doc))
                del kept[MAX_HITS:]
            continue
        for spans in candidates(matcher, doc):
            if len(kept) >= MAX_HITS:
                break
            negation = rule.negation
            target = negated if negation is not None and negates(negation, doc, spans) else kept
            if len(target) < MAX_HITS:
                target.extend(doc.to_original(span) for span in spans)
    return _tidy(kept)


def _tidy(spans: Sequence[Span]) -> tuple[Span, ...]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _utf8_length(char: str) -> int:
    code = ord(char)
    return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4


class ReferenceDoc:
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
        return max(bisect_right(self.word_starts, byte) - 1, 0)

    def word_byte(self, word: int) -> int:
        return self.word_starts[word]

    def clause_start(self, word: int) -> int:
        return self.normalized.clause_start(word)

    def to_original(self, span: Span) -> Span:
        start, end = span
        mapping = self._byte_to_char
        if mapping is not None:
            start_char = mapping[start]
            end_char = mapping[end]
            if end < len(self.data) and (self.data[end] & 0xC0) == 0x80:
                end_char += 1  # an end inside a character rounds up
            start, end = start_char, end_char
        return self.normalized.to_original(start, end)


def search(regex: Regex, data: bytes, pos: int = 0, endpos: int | None = None) -> tuple[int, int] | None:
    """The original ``Regex.search``: google-re2's own ``search``."""
    found = regex.compiled.search(data, pos, endpos)
    if found is None:
        return None
    start, end = found.span()
    return int(start), int(end)


def find_all(
    regex: Regex, doc: ReferenceDoc, limit: int, pos: int = 0, endpos: int | None = None
) -> list[Span]:
    data = doc.data
    stop = len(data) if endpos is None else endpos
    found: list[Span] = []
    while len(found) < limit and pos <= stop:
        match = search(regex, data, pos, stop)
        if match is None:
            break
        raw_start, end = match
        start = raw_start + 1 if raw_start < end and data[raw_start] == _SPACE else raw_start
        if end > start and data[end - 1] == _SPACE:
            end -= 1
        if end > start:
            found.append((start, end))
        pos = max(end, raw_start + 1)
    return found


def candidates(matcher: TermMatcher | NearMatcher, doc: ReferenceDoc) -> list[tuple[Span, ...]]:
    if isinstance(matcher, TermMatcher):
        (regex,) = matcher.regexes
        return [(span,) for span in find_all(regex, doc, MAX_CANDIDATES)]
    a, b = matcher.regexes
    within = matcher.within
    a_spans = find_all(a, doc, MAX_TERMS)
    if not a_spans:
        return []
    b_spans = find_all(b, doc, MAX_TERMS)
    if not b_spans:
        return []

    def words(span: Span) -> tuple[int, int]:
        return doc.word_of(span[0]), doc.word_of(span[1] - 1)

    b_words = [words(span) for span in b_spans]
    b_firsts = [first for first, _ in b_words]
    widest = max(last - first for first, last in b_words)
    found: list[tuple[Span, ...]] = []
    for a_span in a_spans:
        first, last = words(a_span)
        low = bisect_left(b_firsts, first - within - widest)
        high = bisect_right(b_firsts, last + within)
        for index in range(low, high):
            b_first, b_last = b_words[index]
            if max(0, b_first - last, first - b_last) <= within:
                found.append(tuple(sorted((a_span, b_spans[index]))))
                if len(found) >= MAX_CANDIDATES:
                    return found
    return found


def group_hits(matcher: GroupMatcher, negation: Negation | None, doc: ReferenceDoc) -> list[Span]:
    """An ``all`` / ``any`` condition: every group's first ``MAX_TERMS`` hits, minus the negated ones;
    if at least ``need`` groups keep a hit, the kept hits in group order (at most ``MAX_HITS``)."""
    survivors = [
        [
            span
            for span in find_all(regex, doc, MAX_TERMS)
            if negation is None or not negates(negation, doc, (span,))
        ]
        for regex in matcher.regexes
    ]
    if sum(1 for group in survivors if group) < matcher.need:
        return []
    return [span for group in survivors for span in group][:MAX_HITS]


def negates(negation: Negation, doc: ReferenceDoc, spans: tuple[Span, ...]) -> bool:
    if _before(negation, doc, spans[0][0]):
        return True
    gaps = itertools.pairwise(spans)
    return any(
        end < start and search(negation.cues, doc.data, end, start) is not None
        for (_, end), (start, _) in gaps
    )


def _before(negation: Negation, doc: ReferenceDoc, start: int) -> bool:
    word = doc.word_of(start)
    clause = doc.clause_start(word)
    nearest = max(word - negation.window, clause)
    if nearest >= word:
        return False
    first = max(nearest - (negation.cue_words - 1), clause)
    pos = max(doc.word_byte(first) - 1, 0)
    found = find_all(negation.cues, doc, MAX_HITS, pos, start)
    return any(doc.word_of(end - 1) >= nearest for _, end in found)
