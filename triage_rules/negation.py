"""Negation: a hit is discarded when a cue ends shortly before it in the same clause.

See ``RULES.md`` (``unless``); ``_matching_reference`` holds the plain
implementation the Hypothesis tests compare it with.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import pairwise

from ._re2 import Regex
from .doc import _LINE_BREAK, _SPACE, _SPACE_BYTE, MAX_HITS, Doc, Span, compile_terms

__all__ = ["Negation"]


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
