"""The map from the normalised text back to the original: word ranges of the folded text
joined into one offset per character (``_Joiner``), aligned texts the fast way.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from itertools import accumulate, compress, count, repeat
from operator import add

from .folding import _APOSTROPHE, _SEPARATOR

# -- offsets -------------------------------------------------------------------

_INTEGER_LIMIT = 1 << 18
_integers: tuple[int, ...] = tuple(range(1 << 12))


def _numbers(size: int) -> Sequence[int]:
    """0, 1, 2, … (at least ``size`` of them); kept, so offsets need not create int objects."""
    global _integers  # a cache that only grows
    numbers = _integers
    if size <= len(numbers):
        return numbers
    if size > _INTEGER_LIMIT:
        return range(size)
    numbers = tuple(range(min(max(size, 2 * len(numbers)), _INTEGER_LIMIT)))
    _integers = numbers
    return numbers


def _aligned_offsets(mask: bytes, size: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The offsets when every word is kept as is and the folded text is aligned with the original.

    A word character keeps its own index; the space joining two words spans
    from the first separator after one to the start of the next: starts take
    the first separator of every run, ends the index after the last one.
    """
    numbers = _numbers(len(mask) + 1)
    after_words = mask.replace(b"\x01\x00", b"\x01\x01")
    before_words = mask.replace(b"\x00\x01", b"\x01\x01")
    first = mask.find(1)
    starts = tuple(compress(numbers[first : first + len(mask)], after_words[first:]))
    ends = tuple(compress(numbers[first + 1 : first + 1 + len(mask)], before_words[first:]))
    return starts[:size], ends


class _Joiner:
    """Joins the words into the normalised text when some change or the folded text is not aligned.

    ``join`` fills ``words``, ``starts`` and ``ends``. In an aligned folded
    text the words that do not change take their offsets from
    ``_aligned_offsets`` in slices; changed words (and the spaces next to
    them) are added one by one, as is every word of a text that is not aligned.
    """

    def __init__(
        self,
        table: Mapping[str, str],
        flat: str,
        mask: bytes,
        folded_starts: list[int] | None,
        folded_ends: list[int] | None,
    ) -> None:
        self.table, self.flat, self.mask = table, flat, mask
        self.folded_starts, self.folded_ends = folded_starts, folded_ends
        self.numbers = _numbers(len(flat) + 1)
        self.words: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.last_end = -1
        self.emptied = False  # some word expanded to no word at all

    def join(self, words: list[str], changed: list[int], clauses: list[int]) -> tuple[list[str], list[int]]:
        """The new words, and ``clauses`` (indices of ``words``) as indices of the new words.

        ``changed`` are the indices of the words the table expands or that have apostrophes.
        """
        if self.folded_starts is None:
            shifts = self._join_aligned(words, changed)
        else:
            shifts = self._join_each(words, changed)
        # a clause word moves by the shift after the last changed word before it
        shifts.insert(0, 0)
        done = map(bisect_left, repeat(changed), clauses)
        moved = list(map(add, clauses, map(shifts.__getitem__, done)))
        if not self.emptied:
            return self.words, moved
        # an expansion with no words: two clauses may now start at the same word
        starts: list[int] = []
        for new in moved:
            if new < len(self.words) and (not starts or new > starts[-1]):
                starts.append(new)
        return self.words, starts

    def _join_aligned(self, words: list[str], changed: list[int]) -> list[int]:
        """Words of an aligned folded text; returns new index minus old after each changed word."""
        mask = self.mask
        # the offsets as if no word changed: word k is at index ``position`` of
        # that text, its letters being the letters before it plus k spaces
        size = mask.count(1) + len(words) - 1
        kept_starts, kept_ends = _aligned_offsets(mask, size)
        # A changed word is the first whole-word occurrence of its text after the
        # previous changed word: the words between are unchanged, so differ from it.
        padded = f" {self.flat} "
        shifts: list[int] = []
        next_word = next_kept = searched = letters = counted = 0
        for index in changed:
            word = words[index]
            first = padded.find(f" {word} ", searched)
            letters += mask.count(1, counted, first)
            counted = first
            position = letters + index
            if next_word < index:
                self.words.extend(words[next_word:index])
                self._add(
                    kept_starts[next_kept : position - 1],
                    kept_ends[next_kept : position - 1],
                    kept_starts[next_kept],
                    kept_ends[position - 2],
                )
            self._changed(word, first, first + len(word))
            shifts.append(len(self.words) - index - 1)
            next_word, next_kept, searched = index + 1, position + len(word) + 1, first + len(word) + 1
        if next_word < len(words):
            self.words.extend(words[next_word:])
            self._add(kept_starts[next_kept:], kept_ends[next_kept:], kept_starts[next_kept], kept_ends[-1])
        return shifts

    def _join_each(self, words: list[str], changed: list[int]) -> list[int]:
        """Words of a folded text that is not aligned, one by one."""
        pieces = self.flat.split(_SEPARATOR)
        lengths = list(map(len, pieces))
        # piece i starts after the i pieces and i separators before it
        firsts = compress(map(add, accumulate(lengths, initial=0), count()), lengths)
        shifts: list[int] = []
        changes = iter(changed)
        change = next(changes, -1)
        for index, (word, first) in enumerate(zip(words, firsts, strict=True)):
            if index == change:
                self._changed(word, first, first + len(word))
                shifts.append(len(self.words) - index - 1)
                change = next(changes, -1)
            else:
                self.words.append(word)
                self._part(first, first + len(word))
        return shifts

    def _add(self, starts: Sequence[int], ends: Sequence[int], first_start: int, last_end: int) -> None:
        """Characters with their offsets, after the space that joins them to the previous ones."""
        if self.last_end >= 0:
            self.starts.append(min(self.last_end, first_start))
            self.ends.append(max(self.last_end, first_start))
        self.starts += starts
        self.ends += ends
        self.last_end = last_end

    def _part(self, low: int, high: int) -> None:
        """Characters taken as they are from ``flat[low:high]``."""
        if self.folded_starts is None or self.folded_ends is None:
            numbers = self.numbers
            self._add(numbers[low:high], numbers[low + 1 : high + 1], low, high)
        else:
            starts, ends = self.folded_starts, self.folded_ends
            self._add(starts[low:high], ends[low:high], starts[low], ends[high - 1])

    def _changed(self, word: str, low: int, high: int) -> None:
        """A word the shorthand table expands, or that has apostrophes, at ``flat[low:high]``."""
        table = self.table
        expansion = table.get(word)
        if expansion is None and _APOSTROPHE in word:
            expansion = table.get(word.replace(_APOSTROPHE, ""))
        if expansion is not None:
            self._expansion(expansion, low, high)
            return
        position = low
        for part in word.split(_APOSTROPHE):
            end = position + len(part)
            replacement = table.get(part)
            if replacement is not None:
                self._expansion(replacement, position, end)
            else:
                self.words.append(part)
                self._part(position, end)
            position = end + 1

    def _expansion(self, expansion: str, low: int, high: int) -> None:
        """Words that replace ``flat[low:high]``: each of their characters spans all of it."""
        if self.folded_starts is None or self.folded_ends is None:
            start, end = low, high
        else:
            start, end = self.folded_starts[low], self.folded_ends[high - 1]
        pieces = [piece for piece in expansion.split(" ") if piece]
        self.emptied |= not pieces
        for piece in pieces:
            self.words.append(piece)
            self._add((start,) * len(piece), (end,) * len(piece), start, end)
