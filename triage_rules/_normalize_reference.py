"""The original, character-by-character ``normalize``: the specification ``normalize`` must meet.

This is the implementation ``triage_rules.normalize`` had before it was rewritten
for speed. It is kept unchanged so the tests can compare the two on arbitrary
text (they must agree on the normalised text, the offsets, the words and the
clause starts). Nothing outside the tests imports it.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping

from .normalize import NormalizedText, shorthand

# Characters treated as an apostrophe (checked on the original character, then
# on its folded form). Acute accent and prime are common stand-ins on phones.
_APOSTROPHES = frozenset("'\u2019\u2018\u02bc\u02bb`\u00b4\u2032\uff07")
# Characters (after folding) that end a clause.
_BREAKS = frozenset(".!?;:,¡¿…\n\r\x0b\x0c\x85\u2028\u2029。、，；：！？؟،؛।")
_DROPPED_MARKS = frozenset({"Mn", "Me"})
_FOLD_ROUNDS = 3


def normalize(text: str) -> NormalizedText:
    """Normalise ``text`` for matching (see the module documentation)."""
    builder = _Builder(text, shorthand())
    size = len(text)
    index = 0
    while index < size:
        stop = index + 1
        while stop < size and unicodedata.combining(text[stop]):
            stop += 1
        builder.segment(text[index:stop], index, stop)
        index = stop
    return builder.finish()


@functools.lru_cache(maxsize=8192)
def _fold(segment: str) -> str:
    """NFKC, case-fold, strip marks; repeated until stable (a few code points need it)."""
    folded = segment
    for _ in range(_FOLD_ROUNDS):
        step = unicodedata.normalize("NFKC", folded).casefold()
        step = unicodedata.normalize("NFD", step)
        step = "".join(c for c in step if unicodedata.category(c) not in _DROPPED_MARKS)
        step = unicodedata.normalize("NFC", step)
        if step == folded:
            break
        folded = step
    return folded


@functools.lru_cache(maxsize=8192)
def _kind(char: str) -> str:
    """'w' word character, "'" apostrophe, 'b' clause break, 'x' dropped, 's' separator."""
    if char in _APOSTROPHES:
        return "'"
    category = unicodedata.category(char)
    if char.isalnum() or category == "Mc":
        return "w"
    if category == "Cf":
        return "x"
    if char in _BREAKS or category in ("Zl", "Zp"):
        return "b"
    return "s"


class _Builder:
    """Accumulates words with their original spans, then joins them."""

    def __init__(self, original: str, table: Mapping[str, str]) -> None:
        self._original = original
        self._table = table
        self._chars: list[str] = []
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._words: list[tuple[int, int]] = []
        self._clauses: list[int] = []
        self._break = False
        # the word being read: characters with their original spans
        self._word: list[tuple[str, int, int]] = []
        self._apostrophe: tuple[int, int] | None = None

    def segment(self, segment: str, start: int, end: int) -> None:
        if segment[0] in _APOSTROPHES:
            self._on_apostrophe(start, end)
            return
        for char in _fold(segment):
            kind = _kind(char)
            if kind == "w":
                self._on_word_char(char, start, end)
            elif kind == "'":
                self._on_apostrophe(start, end)
            elif kind == "b":
                self._end_word()
                self._break = True
            elif kind == "s":
                self._end_word()

    def finish(self) -> NormalizedText:
        self._end_word()
        return NormalizedText(
            original=self._original,
            text="".join(self._chars),
            starts=tuple(self._starts),
            ends=tuple(self._ends),
            word_spans=tuple(self._words),
            clause_starts=tuple(self._clauses),
        )

    def _on_word_char(self, char: str, start: int, end: int) -> None:
        if self._apostrophe is not None:
            self._word.append(("'", *self._apostrophe))
            self._apostrophe = None
        self._word.append((char, start, end))

    def _on_apostrophe(self, start: int, end: int) -> None:
        if self._word and self._apostrophe is None:
            self._apostrophe = (start, end)
        else:
            self._end_word()

    def _end_word(self) -> None:
        word, self._word, self._apostrophe = self._word, [], None
        if not word:
            return
        typed = "".join(c for c, _, _ in word)
        expansion = self._table.get(typed)
        if expansion is None and "'" in typed:
            expansion = self._table.get(typed.replace("'", ""))
        if expansion is not None:
            self._emit_expansion(expansion, word[0][1], word[-1][2])
            return
        part: list[tuple[str, int, int]] = []
        for item in [*word, ("'", 0, 0)]:
            if item[0] != "'":
                part.append(item)
                continue
            piece = "".join(c for c, _, _ in part)
            replacement = self._table.get(piece) if len(part) < len(word) else None
            if replacement is not None:
                self._emit_expansion(replacement, part[0][1], part[-1][2])
            elif part:
                self._emit_word(part)
            part = []

    def _emit_expansion(self, expansion: str, start: int, end: int) -> None:
        for piece in expansion.split(" "):
            if piece:
                self._emit_word([(c, start, end) for c in piece])

    def _emit_word(self, word: list[tuple[str, int, int]]) -> None:
        if self._chars:
            previous_end, next_start = self._ends[-1], word[0][1]
            self._chars.append(" ")
            self._starts.append(min(previous_end, next_start))
            self._ends.append(max(previous_end, next_start))
        if self._break or not self._words:
            self._clauses.append(len(self._words))
            self._break = False
        begin = len(self._chars)
        for char, start, end in word:
            self._chars.append(char)
            self._starts.append(start)
            self._ends.append(end)
        self._words.append((begin, len(self._chars)))
