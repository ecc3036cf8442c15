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
"""

from __future__ import annotations

import functools
import tomllib
import unicodedata
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from .errors import RuleError

SHORTHAND_FILE = "shorthand.toml"

# Characters treated as an apostrophe (checked on the original character, then
# on its folded form). Acute accent and prime are common stand-ins on phones.
_APOSTROPHES = frozenset("'\u2019\u2018\u02bc\u02bb`\u00b4\u2032\uff07")
# Characters (after folding) that end a clause.
_BREAKS = frozenset(".!?;:,¡¿…\n\r\x0b\x0c\x85\u2028\u2029。、，；：！？؟،؛।")
_DROPPED_MARKS = frozenset({"Mn", "Me"})
_FOLD_ROUNDS = 3


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
