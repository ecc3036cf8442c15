"""``PreparedText``: the normalised text at once, its offsets and clauses only when asked for
(what ``RuleSet.evaluate`` matches on; ``prepare_for_matching`` builds it).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from itertools import accumulate, compress, count, repeat
from operator import add

from .folding import _APOSTROPHE, _BREAK, _SEPARATOR, _clause_words, _clause_words_by_segment, _word_mask

# Up to this many distinct words, ``_positions`` looks each one up with ``list.index``.
_FEW_DISTINCT = 8


def _positions(words: list[str], wanted: set[str]) -> list[int]:
    """The indices of the words that are in ``wanted``, in order."""
    if not wanted:
        return []
    if len(wanted) > _FEW_DISTINCT:
        return list(compress(count(), map(wanted.__contains__, words)))
    found: list[int] = []
    for word in wanted:
        index = words.index(word)
        try:
            while True:
                found.append(index)
                index = words.index(word, index + 1)
        except ValueError:
            pass
    found.sort()
    return found


# Texts with more apostrophes than this find the words that have one by looking at every word.
_FEW_APOSTROPHES = 16


def _changing_words(table: Mapping[str, str], flat: str, words: list[str]) -> set[str]:
    """The distinct words step 4 changes: in the shorthand table, or with an apostrophe."""
    changing = set() if table.keys().isdisjoint(words) else set(filter(table.__contains__, words))
    if flat.count(_APOSTROPHE) > _FEW_APOSTROPHES:
        changing.update(word for word in words if _APOSTROPHE in word)
        return changing
    # the word around each apostrophe (words are separated by spaces in ``flat``)
    position = flat.find(_APOSTROPHE)
    while position >= 0:
        start = flat.rfind(_SEPARATOR, 0, position) + 1
        end = flat.find(_SEPARATOR, position)
        if end < 0:
            end = len(flat)
        changing.add(flat[start:end])
        position = flat.find(_APOSTROPHE, end)
    return changing


def _expanded_words(
    table: Mapping[str, str], words: list[str], changed: list[int]
) -> tuple[list[str], list[int], bool]:
    """Step 4 on the words alone: ``_word_table``'s words, shifts and "emptied", without offsets."""
    out: list[str] = []
    shifts = [0]  # new index minus old index, after each changed word
    emptied = False  # some word expanded to no word at all
    previous = 0
    for index in changed:
        out += words[previous:index]
        word = words[index]
        expansion = table.get(word)
        if expansion is None and _APOSTROPHE in word:
            expansion = table.get(word.replace(_APOSTROPHE, ""))
        if expansion is not None:
            pieces = [piece for piece in expansion.split(" ") if piece]
            emptied |= not pieces
            out += pieces
        else:
            for part in word.split(_APOSTROPHE):
                replacement = table.get(part)
                if replacement is not None:
                    pieces = [piece for piece in replacement.split(" ") if piece]
                    emptied |= not pieces
                    out += pieces
                else:
                    out.append(part)
        shifts.append(len(out) - index - 1)
        previous = index + 1
    out += words[previous:]
    return out, shifts, emptied


def _moved_clauses(
    clauses: list[int], changed: list[int], shifts: list[int], emptied: bool, count: int
) -> list[int]:
    """Clause starts (word indices) after step 4 changed the words at ``changed``."""
    moved = list(map(add, clauses, map(shifts.__getitem__, map(bisect_left, repeat(changed), clauses))))
    if emptied:
        moved = [
            new for index, new in enumerate(moved) if new < count and (not index or new > moved[index - 1])
        ]
    return moved


def _word_table(
    table: Mapping[str, str],
    words: list[str],
    firsts: list[int],
    stops: list[int],
    changed: list[int],
    clauses: list[int],
) -> tuple[list[str], list[int], list[int], list[int], list[int]]:
    """Step 4 on a word table: new words, their folded ranges, which are expansions, new clauses."""
    out_words: list[str] = []
    out_firsts: list[int] = []
    out_stops: list[int] = []
    fixed: list[int] = []
    shifts = [0]  # new index minus old index, after each changed word
    emptied = False  # some word expanded to no word at all

    def expand(expansion: str, first: int, stop: int) -> None:
        nonlocal emptied
        pieces = [piece for piece in expansion.split(" ") if piece]
        emptied |= not pieces
        for piece in pieces:
            fixed.append(len(out_words))
            out_words.append(piece)
            out_firsts.append(first)
            out_stops.append(stop)

    previous = 0
    for index in changed:
        out_words += words[previous:index]
        out_firsts += firsts[previous:index]
        out_stops += stops[previous:index]
        word, first = words[index], firsts[index]
        expansion = table.get(word)
        if expansion is None and _APOSTROPHE in word:
            expansion = table.get(word.replace(_APOSTROPHE, ""))
        if expansion is not None:
            expand(expansion, first, stops[index])
        else:
            for part in word.split(_APOSTROPHE):
                end = first + len(part)
                replacement = table.get(part)
                if replacement is not None:
                    expand(replacement, first, end)
                else:
                    out_words.append(part)
                    out_firsts.append(first)
                    out_stops.append(end)
                first = end + 1
        shifts.append(len(out_words) - index - 1)
        previous = index + 1
    out_words += words[previous:]
    out_firsts += firsts[previous:]
    out_stops += stops[previous:]
    moved = _moved_clauses(clauses, changed, shifts, emptied, len(out_words))
    return out_words, out_firsts, out_stops, fixed, moved


class PreparedText:
    """What ``prepare_for_matching`` gives: a ``NormalizedText`` whose offsets are worked out on demand.

    Only for a folded text aligned with the original (character ``i`` came
    from character ``i``). ``text`` is computed at once; ``_word_starts``,
    ``clause_starts`` and the map back to the original (``to_original``) on
    first use. Every word of ``text`` either comes character by character from
    the folded text at ``folded_firsts[k]``, or (``fixed``) replaces a folded
    word or part of one: then each of its characters spans that whole range,
    from ``folded_firsts[k]`` to ``folded_stops[k]``.
    """

    __slots__ = (
        "_changed",
        "_clauses",
        "_emptied",
        "_flat",
        "_folded",
        "_offsets",
        "_shifts",
        "_split",
        "_starts",
        "_table",
        "_words",
        "original",
        "text",
    )

    def __init__(
        self,
        original: str,
        folded: str,
        flat: str,
        words: list[str],
        changed: list[int],
        table: Mapping[str, str],
    ) -> None:
        self.original = original
        self._folded, self._flat, self._split, self._changed, self._table = (
            folded,
            flat,
            words,
            changed,
            table,
        )
        if changed:
            self._words, self._shifts, self._emptied = _expanded_words(table, words, changed)
        else:
            self._words, self._shifts, self._emptied = words, [0], False
        self.text = " ".join(self._words)
        self._starts: list[int] | None = None
        self._clauses: tuple[int, ...] | None = None
        # folded_firsts, folded_stops, fixed, lengths
        self._offsets: tuple[list[int], list[int], frozenset[int], list[int]] | None = None

    @property
    def _word_starts(self) -> list[int]:
        """Where each word starts in ``text``."""
        starts = self._starts
        if starts is None:
            words = self._words
            starts = self._starts = list(map(add, accumulate(map(len, words), initial=0), range(len(words))))
        return starts

    @property
    def clause_starts(self) -> tuple[int, ...]:
        """Indices of the words that begin a clause."""
        clauses = self._clauses
        if clauses is None:
            found = _clause_words_by_segment(self._folded, len(self._split))
            if self._changed:
                found = _moved_clauses(found, self._changed, self._shifts, self._emptied, len(self._words))
            clauses = self._clauses = tuple(found)
        return clauses

    @property
    def folded_firsts(self) -> list[int]:
        return self._offset_tables()[0]

    @property
    def folded_stops(self) -> list[int]:
        return self._offset_tables()[1]

    @property
    def fixed(self) -> frozenset[int]:
        return self._offset_tables()[2]

    @property
    def lengths(self) -> list[int]:
        return self._offset_tables()[3]

    def _offset_tables(self) -> tuple[list[int], list[int], frozenset[int], list[int]]:
        offsets = self._offsets
        if offsets is not None:
            return offsets
        flat, words = self._flat, self._split
        clauses = _clause_words(self._folded, _word_mask(flat), len(words))
        pieces = list(map(len, flat.split(_SEPARATOR)))
        # piece i starts after the i pieces and i separators before it
        firsts = list(compress(map(add, accumulate(pieces, initial=0), count()), pieces))
        stops = list(map(add, firsts, map(len, words)))
        fixed: list[int] = []
        if self._changed:
            _, firsts, stops, fixed, clauses = _word_table(
                self._table, words, firsts, stops, self._changed, clauses
            )
        if self._clauses is None:
            self._clauses = tuple(clauses)
        offsets = self._offsets = (firsts, stops, frozenset(fixed), list(map(len, self._words)))
        return offsets

    def clause_start(self, word: int) -> int:
        """Index of the first word of the clause that word ``word`` is in."""
        clauses = self.clause_starts
        index = bisect_right(clauses, word) - 1
        return clauses[index] if index >= 0 else 0

    def clause_marked(self) -> str:
        """``text`` with a line break instead of the space before each word that begins a clause."""
        if _BREAK not in self._folded:
            return self.text
        # the words of each run between breaks are the words of that clause ...
        runs = [words for words in map(str.split, self._folded.split(_BREAK)) if words]
        if self._changed:
            # ... after step 4 on the runs that have changed words
            bounds = list(accumulate(map(len, runs), initial=0))
            by_run: dict[int, list[int]] = {}
            for index in self._changed:
                run = bisect_right(bounds, index) - 1
                by_run.setdefault(run, []).append(index - bounds[run])
            for run, changed in by_run.items():
                runs[run] = _expanded_words(self._table, runs[run], changed)[0]
        return "\n".join(" ".join(words) for words in runs if words)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The span of ``original`` that ``text[start:end]`` came from (as ``NormalizedText``)."""
        size = len(self.text)
        start = min(max(start, 0), size)
        end = min(max(end, start), size)
        if start == size:
            return len(self.original), len(self.original)
        if end == start:
            first = self._start_of(start)
            return first, first
        return self._start_of(start), self._end_of(end - 1)

    def _start_of(self, position: int) -> int:
        firsts, stops, fixed, lengths = self._offset_tables()
        starts = self._word_starts
        word = bisect_right(starts, position) - 1
        offset = position - starts[word]
        if offset < lengths[word]:
            first = firsts[word]
            return first if word in fixed else first + offset
        # the space after the word: from the end of one word to the start of the next
        return min(stops[word], firsts[word + 1])

    def _end_of(self, position: int) -> int:
        firsts, stops, fixed, lengths = self._offset_tables()
        starts = self._word_starts
        word = bisect_right(starts, position) - 1
        offset = position - starts[word]
        if offset < lengths[word]:
            return stops[word] if word in fixed else firsts[word] + offset + 1
        return max(stops[word], firsts[word + 1])
