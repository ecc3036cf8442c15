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

import functools
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, compress, count, pairwise
from operator import add

from .folding import (
    _APOSTROPHE,
    _BREAK,
    _SEPARATOR,
    _clause_words,
    _fold_text,
    _settle_apostrophes,
    _word_mask,
)
from .offsets import _aligned_offsets, _Joiner
from .prepared import PreparedText, _changing_words, _positions
from .shorthand_table import SHORTHAND_FILE, parse_shorthand, shorthand, shorthand_bytes

__all__ = [
    "SHORTHAND_FILE",
    "NormalizedText",
    "PreparedText",
    "normalize",
    "parse_shorthand",
    "prepare_for_matching",
    "shorthand",
    "shorthand_bytes",
]


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
