"""Text normalisation: what every rule matches against, with a map back to the original.

``normalize(text)`` folds a text the same way for reporters' messages, rule
phrases, cues and examples, so a rule written once matches however it was typed:

1. Unicode compatibility forms are unified (NFKC: full-width letters, ligatures,
   superscripts), case is folded (``casefold``: "ß" → "ss") and accents are
   stripped (NFD, then every nonspacing or enclosing mark is dropped:
   "está" → "esta", "niña" → "nina").
2. Format characters (zero-width spaces and joiners, soft hyphens, left-to-right
   and right-to-left marks) are dropped, so they cannot split a word.
3. A word is a run of letters and digits. An apostrophe between two letters
   stays inside the word for step 4 ("can't"); every other character
   (punctuation, spaces, symbols, emoji, controls) separates words, and the
   normalised text has the words joined by single spaces.
4. Each word is looked up in the shorthand table (``shorthand.toml``): first as
   typed ("can't", "i'd"), then without its apostrophes ("cant"). A listed word
   is replaced by its expansion ("cannot", "i would", "pls" → "please",
   "xq" → "porque"). An unlisted word with apostrophes is split at them
   ("employer's" → "employer s").
5. Clause breaks (. ! ? ; : , ¡ ¿ … and line breaks) are remembered as word
   indices, so a negation cue in one clause does not reach into the next.

Every character of the normalised text remembers the span of the original text
it came from, so a match can be shown on the text the reporter wrote.

How it is computed
------------------
The definition above goes character by character (``_normalize_reference`` is
that definition as code, and the tests hold this module to it on arbitrary
text); the computation works on whole strings, in time linear in the text:

* A **segment** is a character with the combining marks after it; each
  segment folds (step 1) and is classified (steps 2-3) on its own. The
  **folded text** has, for every segment, its folded characters in an
  alphabet of word characters, "'" (apostrophe), "\\n" (clause break) and " "
  (any other separator); dropped characters vanish.
* Almost every character is a segment of its own that folds to exactly one
  character of that alphabet (a run of separators such as "…" counts as one).
  For those one table lookup gives the folded character, so the folded text
  comes from ``bytes.translate`` over the Latin-1 encoding (``str.translate``
  for other scripts) and stays aligned with the original: character ``i``
  came from character ``i``. Only the other segments (ligatures, "ß",
  zero-width characters, combining marks) are folded one by one.
* Words come from ``str.split``; clause starts from counting word starts
  between breaks in a 0/1 mask of the folded text; shorthand from one
  dictionary lookup per word.
* The offset map of an aligned text is the folded text's indices, picked with
  ``itertools.compress`` through that mask: a word character keeps its index,
  and the space joining two words spans from the first separator after one to
  the start of the next. Words the shorthand table changes, and texts that
  are not aligned, are mapped word by word.
* ``prepare_for_matching`` (what ``RuleSet.evaluate`` uses) computes only the
  normalised text at once. The words' ranges in the folded text (the map back
  to the original), the word offsets and the clause starts are worked out
  when first asked for: the map for the spans of the rules that fire, the
  clauses (as ``clause_marked``, the text with a line break before each
  clause) for the first negation check.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import tomllib
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import accumulate, compress, count, pairwise, repeat
from operator import add

from .errors import RuleError

SHORTHAND_FILE = "shorthand.toml"

# Characters treated as an apostrophe (checked on the original character, then
# on its folded form). Acute accent and prime are common stand-ins on phones.
_APOSTROPHES = frozenset("'\u2019\u2018\u02bc\u02bb`\u00b4\u2032\uff07")
# Characters (after folding) that end a clause.
_BREAKS = frozenset(".!?;:,¡¿…\n\r\x0b\x0c\x85\u2028\u2029。、，；：！？؟،؛।")
_DROPPED_MARKS = frozenset({"Mn", "Me"})
_FOLD_ROUNDS = 3

# The folded text's alphabet besides word characters.
_APOSTROPHE = "'"
_BREAK = "\n"
_SEPARATOR = " "
# In a translate table: the character is folded as a segment of its own (see _fold_text).
_SPECIAL = "\x01"


@dataclass(frozen=True)
class NormalizedText:
    """A normalised text with the way back to the original.

    ``text`` is the normalised text: words of letters and digits joined by
    single spaces. ``starts[i]``/``ends[i]`` give the span of ``original`` that
    character ``i`` of ``text`` came from; both sequences never decrease.
    ``word_spans`` are the words' spans in ``text``; ``clause_starts`` are the
    indices of the words that begin a clause (always including 0 when there is
    any word).
    """

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    word_spans: tuple[tuple[int, int], ...]
    clause_starts: tuple[int, ...]

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.text[start:end] for start, end in self.word_spans)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The span of ``original`` that ``text[start:end]`` came from."""
        size = len(self.text)
        start = min(max(start, 0), size)
        end = min(max(end, start), size)
        if start == size:
            return len(self.original), len(self.original)
        if end == start:
            return self.starts[start], self.starts[start]
        return self.starts[start], self.ends[end - 1]

    def word_at(self, position: int) -> int:
        """Index of the word containing (or, on a space, preceding) ``position``."""
        return max(bisect_right(self._word_starts, position) - 1, 0)

    @functools.cached_property
    def _word_starts(self) -> tuple[int, ...]:
        return tuple(start for start, _ in self.word_spans)

    def clause_start(self, word: int) -> int:
        """Index of the first word of the clause that word ``word`` is in."""
        index = bisect_right(self.clause_starts, word) - 1
        return self.clause_starts[index] if index >= 0 else 0

    def clause_marked(self) -> str:
        """``text`` with a line break instead of the space before each word that begins a clause."""
        return _mark_clauses(self.words, self.clause_starts)


def _mark_clauses(words: Sequence[str], clause_starts: Sequence[int]) -> str:
    bounds = [*clause_starts, len(words)]
    return "\n".join(" ".join(words[start:stop]) for start, stop in pairwise(bounds) if stop > start)


def normalize(text: str) -> NormalizedText:
    """Normalise ``text`` for matching (see the module documentation)."""
    folded, folded_starts, folded_ends = _fold_text(text)
    if _APOSTROPHE in folded:
        folded = _settle_apostrophes(folded)
    flat = folded.replace(_BREAK, _SEPARATOR) if _BREAK in folded else folded
    words = flat.split()
    if not words:
        return NormalizedText(text, "", (), (), (), ())
    mask = _word_mask(flat)
    clauses = _clause_words(folded, mask, len(words))
    table = shorthand()
    # the words the shorthand table expands or that have apostrophes (step 4)
    distinct = set(words)
    changing = table.keys() & distinct
    if _APOSTROPHE in flat:
        changing.update(word for word in distinct if _APOSTROPHE in word)
    if folded_starts is None and not changing:
        joined = " ".join(words)
        starts, ends = _aligned_offsets(mask, len(joined))
    else:
        changed = list(compress(count(), map(changing.__contains__, words)))
        joiner = _Joiner(table, flat, mask, folded_starts, folded_ends)
        words, clauses = joiner.join(words, changed, clauses)
        joined = " ".join(words)
        starts, ends = tuple(joiner.starts), tuple(joiner.ends)
    lengths = list(map(len, words))
    positions = list(map(add, accumulate(lengths, initial=0), range(len(words))))
    return NormalizedText(
        original=text,
        text=joined,
        starts=starts,
        ends=ends,
        word_spans=tuple(zip(positions, map(add, positions, lengths), strict=True)),
        clause_starts=tuple(clauses),
    )


def prepare_for_matching(text: str) -> NormalizedText | PreparedText:
    """``normalize(text)`` as matching needs it: everything but the text is worked out on demand.

    For ``RuleSet.evaluate``: the normalised text is computed at once; the
    word offsets and clause starts only when a negation or proximity check
    needs them, and the map back to the original only for the spans of the
    rules that fire. Texts whose folded form is not aligned with the
    original (rare: ligatures, "ß", combining marks) get ``normalize``.
    """
    folded, folded_starts, _ = _fold_text(text)
    if folded_starts is not None:
        return normalize(text)
    if _APOSTROPHE in folded:
        folded = _settle_apostrophes(folded)
    flat = folded.replace(_BREAK, _SEPARATOR) if _BREAK in folded else folded
    words = flat.split()
    if not words:
        return normalize(text)
    table = shorthand()
    changed: list[int]
    if _APOSTROPHE in flat:
        changed = _positions(words, _changing_words(table, flat, words))
    elif table.keys().isdisjoint(words):
        changed = []
    else:
        changed = _positions(words, set(filter(table.__contains__, words)))
    return PreparedText(text, folded, flat, words, changed, table)


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


# -- the folded text -----------------------------------------------------------


class _NotLatin(Exception):
    """Raised by the Latin-1 error handler: fold this text with ``str.translate`` instead."""


# Texts with at most one character in this many beyond Latin-1 (curly quotes,
# emoji) take the Latin-1 way; others (other scripts) ``str.translate``.
_FEW_OUTSIDE_LATIN1 = 16


def _fold_text(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """The folded text, and the original span of each of its characters.

    The spans are None when the folded text is aligned with ``text`` (character
    ``i`` came from character ``i``), which is the case for most texts.
    """
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        data = None
        # typographic quotes, dashes and ellipses (phones type them for you): their
        # Latin-1 stand-ins by str.replace, one pass each, rather than one call of
        # the error handler per character
        latin = text
        for char, stand_in in _COMMON_STAND_INS:
            if char in latin:
                latin = latin.replace(char, stand_in)
        outside = len(latin) - len(latin.encode("latin-1", "ignore"))
        if outside * _FEW_OUTSIDE_LATIN1 <= len(latin):
            with contextlib.suppress(_NotLatin):
                # one call of _latin_stand_ins per run of characters beyond Latin-1
                data = latin.encode("latin-1", _ERRORS)
    folded = data.translate(_LATIN1).decode("latin-1") if data is not None else text.translate(_TABLE)
    if _SPECIAL not in folded:
        return folded, None, None
    if data is None or _DROPPED_STAND_IN in data:
        folded = _drop_beside_separators(text, folded)
        if _SPECIAL not in folded:
            return folded, None, None
    # Characters marked special are folded a segment (a character and the
    # combining marks after it) at a time; every other character kept its
    # place, so the runs between them are taken from ``folded`` as they are.
    combining = unicodedata.combining
    size = len(text)
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    cursor = 0
    position = folded.find(_SPECIAL)
    while position >= 0:
        first = position - 1 if position > cursor and combining(text[position]) else position
        stop = position + 1
        while stop < size and combining(text[stop]):
            stop += 1
        if cursor < first:
            pieces.append(folded[cursor:first])
            starts.extend(range(cursor, first))
            ends.extend(range(cursor + 1, first + 1))
        value = _segment_value(text[first:stop])
        if value:
            pieces.append(value)
            starts.extend([first] * len(value))
            ends.extend([stop] * len(value))
        cursor = stop
        position = folded.find(_SPECIAL, stop)
    if cursor < size:
        pieces.append(folded[cursor:])
        starts.extend(range(cursor, size))
        ends.extend(range(cursor + 1, size + 1))
    return "".join(pieces), starts, ends


def _drop_beside_separators(text: str, folded: str) -> str:
    """``folded`` with dropped characters next to a separator turned into separators.

    A character that folds to nothing (a zero-width joiner, an emoji variation
    selector) must not split a word; but beside a separator, or at either end
    of the text, a separator in its place changes nothing, and keeps the
    folded text aligned.
    """
    combining = unicodedata.combining
    size = len(text)
    replaced: list[int] = []
    position = folded.find(_SPECIAL)
    while position >= 0:
        after = position + 1
        if (
            (
                position == 0
                or folded[position - 1] in " \n"
                or (replaced and replaced[-1] == position - 1)
                or after == size
                or folded[after] in " \n"
            )
            and not combining(text[position])
            and (after == size or not combining(text[after]))
            and not _segment_value(text[position])
        ):
            replaced.append(position)
        position = folded.find(_SPECIAL, after)
    if not replaced:
        return folded
    pieces = [folded[start + 1 : stop] for start, stop in pairwise([-1, *replaced, size])]
    return _SEPARATOR.join(pieces)


def _settle_apostrophes(folded: str) -> str:
    """An apostrophe stays only between two word characters; others become separators."""
    pieces = folded.split(_APOSTROPHE)
    joined = [pieces[0]]
    for before, after in pairwise(pieces):
        inside = before and after and before[-1] not in " \n" and after[0] not in " \n"
        joined.append(_APOSTROPHE if inside else _SEPARATOR)
        joined.append(after)
    return "".join(joined)


# -- words and clauses ---------------------------------------------------------

_SPACE_TO_ZERO = bytes(0 if code == 0x20 else 1 for code in range(256))
_NONZERO_TO_ONE = bytes(0 if code == 0 else 1 for code in range(256))


def _word_mask(flat: str) -> bytes:
    """One byte per character of ``flat``: 1 in a word, 0 for a separator (a space)."""
    if flat.isascii():
        return flat.encode("ascii").translate(_SPACE_TO_ZERO)
    # Without a per-character loop: a character is a space when the low byte of
    # its code is 0x20 and the two bytes above it are 0.
    data = flat.encode("utf-32-le")
    low = int.from_bytes(data[0::4].translate(_SPACE_TO_ZERO), "little")
    high = int.from_bytes(data[1::4], "little") | int.from_bytes(data[2::4], "little")
    return (low | high).to_bytes(len(flat), "little").translate(_NONZERO_TO_ONE)


def _clause_words(folded: str, mask: bytes, count: int) -> list[int]:
    """Indices of the words that begin a clause: 0, and the first word after each break."""
    clauses = [0]
    seen = mask[0]  # words that start before ``position``
    previous = 0
    position = folded.find(_BREAK)
    while position >= 0:
        seen += mask.count(b"\x00\x01", previous, position)
        if seen >= count:
            break
        if seen > clauses[-1]:
            clauses.append(seen)
        previous = position
        # every other break before the next word starts the same clause
        following = mask.find(1, position)
        if following < 0:
            break
        position = folded.find(_BREAK, following)
    return clauses


def _clause_words_by_segment(folded: str, count: int) -> list[int]:
    """``_clause_words`` counted clause by clause: the words of each run between breaks."""
    clauses = [0]
    if _BREAK not in folded:
        return clauses
    for seen in accumulate(map(len, map(str.split, folded.split(_BREAK)))):
        if seen >= count:
            break
        if seen > clauses[-1]:
            clauses.append(seen)
    return clauses


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


# -- shorthand -----------------------------------------------------------------


@functools.cache
def shorthand() -> Mapping[str, str]:
    """The shorthand table, every section merged (see ``shorthand.toml``)."""
    raw = resources.files(__package__).joinpath(SHORTHAND_FILE).read_text(encoding="utf-8")
    return parse_shorthand(raw)


def shorthand_bytes() -> bytes:
    """The table file's bytes (part of every rule set's version)."""
    return resources.files(__package__).joinpath(SHORTHAND_FILE).read_bytes()


def parse_shorthand(raw: str) -> dict[str, str]:
    """Merge the table's ``[lang.kind]`` sections; a key listed twice is an error."""
    table: dict[str, str] = {}
    for lang, kinds in tomllib.loads(raw).items():
        if not isinstance(kinds, dict):
            raise RuleError(f"{SHORTHAND_FILE}: [{lang}] must hold tables of words")
        for kind, entries in kinds.items():
            if not isinstance(entries, dict):
                raise RuleError(f"{SHORTHAND_FILE}: [{lang}.{kind}] must map words to words")
            for key, value in entries.items():
                if not isinstance(value, str) or not value:
                    raise RuleError(f"{SHORTHAND_FILE}: [{lang}.{kind}] {key!r} needs a text")
                if key in table:
                    raise RuleError(f"{SHORTHAND_FILE}: {key!r} is listed twice")
                table[key] = value
    return table


# -- folding one segment (the definition) --------------------------------------


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


_KIND_CHARS = {"'": _APOSTROPHE, "b": _BREAK, "s": _SEPARATOR, "x": ""}

# Segments longer than this are put in canonical order before folding (so that
# unicodedata's insertion sort stays linear) and are not cached.
_LONG_SEGMENT = 32


def _segment_value(segment: str) -> str:
    """What one segment (a character and the combining marks after it) adds to the folded text."""
    if segment[0] in _APOSTROPHES:
        return _APOSTROPHE
    if len(segment) > _LONG_SEGMENT:
        return _reduce(_fold(_canonical_order(segment)))
    return _short_segment_value(segment)


@functools.lru_cache(maxsize=8192)
def _short_segment_value(segment: str) -> str:
    return _reduce(_fold(segment))


def _reduce(folded: str) -> str:
    """Folded characters in the folded text's alphabet: word characters, ', \\n and space."""
    return "".join(_KIND_CHARS.get(_kind(char), char) for char in folded)


def _canonical_order(segment: str) -> str:
    """``segment`` with its combining marks stably sorted by combining class.

    That is the canonical ordering every Unicode normal form applies, so the
    result is canonically equivalent to ``segment`` and folds the same (NFD
    and NFKD of a combining mark keep its class); it only spares unicodedata
    its quadratic insertion sort on a long run of marks.
    """
    keep = 0 if unicodedata.combining(segment[0]) else 1
    return segment[:keep] + "".join(sorted(segment[keep:], key=unicodedata.combining))


def _char_value(char: str) -> str:
    """What ``char`` adds to the folded text when it is a segment of its own, as one character.

    ``_SPECIAL`` when that is not one character: the character is a combining
    mark (it belongs to the segment before it), or it folds to nothing or to
    several characters. Several separators count as one: the folded text is
    the same for words, clauses and offsets.
    """
    if unicodedata.combining(char):
        return _SPECIAL
    value = _segment_value(char)
    if len(value) == 1:
        return value
    if value and not value.strip(" \n"):
        return _BREAK if _BREAK in value else _SEPARATOR
    return _SPECIAL


# -- the translate tables --------------------------------------------------------

_TABLE_LIMIT = 1 << 16


class _Table(dict[int, str]):
    """Code point → ``_char_value``, for ``str.translate``; filled on first sight of each."""

    def __missing__(self, code: int) -> str:
        value = _char_value(chr(code))
        if len(self) < _TABLE_LIMIT:
            self[code] = value
        return value


_TABLE = _Table()

# The same for Latin-1 bytes, for ``bytes.translate``: a character whose value
# is not a Latin-1 character is special (it is folded as a segment).
_LATIN1 = bytes(
    ord(value) if ord(value) < 0x100 else ord(_SPECIAL) for value in map(_char_value, map(chr, range(0x100)))
)
# A Latin-1 character the table makes special, and the Latin-1 characters the
# table maps to themselves: what a character beyond Latin-1 may stand in as.
_DROPPED_STAND_IN = b"\xad"  # soft hyphen: folds to nothing
_SPECIAL_STAND_IN = b"\xdf"  # sharp s: folds to several characters
_SELF_MAPPED = frozenset(chr(code) for code in range(0x100) if _LATIN1[code] == code)
_ERRORS = "triage_rules.fold"


def _latin_stand_ins(error: UnicodeError) -> tuple[bytes, int]:
    """For ``encode("latin-1")``: a Latin-1 byte per character that folds the same way."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    stand_ins = bytearray()
    for char in error.object[error.start : error.end]:
        value = _TABLE[ord(char)]
        if value == _SPECIAL:
            stand_ins += _SPECIAL_STAND_IN if _segment_value(char) else _DROPPED_STAND_IN
        elif value in _SELF_MAPPED:
            stand_ins += value.encode("latin-1")
        else:
            raise _NotLatin
    return bytes(stand_ins), error.end


codecs.register_error(_ERRORS, _latin_stand_ins)

# Characters beyond Latin-1 common enough in messages to replace before encoding, with
# the stand-in _latin_stand_ins would give them (a character that folds the same way).
_COMMON_STAND_INS: tuple[tuple[str, str], ...] = tuple(
    (char, _TABLE[ord(char)])
    for char in "\u2019\u2018\u201c\u201d\u2026\u2013\u2014\u02bc"
    if _TABLE[ord(char)] in _SELF_MAPPED
)
