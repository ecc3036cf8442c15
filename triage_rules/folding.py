"""Folding, the definition's steps 1-3 computed on whole strings: every character to a word
character, an apostrophe, a clause break or a separator, with words and clause starts.

See ``normalize`` for the definition and how it is computed; ``_normalize_reference``
is the definition as plain code.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import unicodedata
from itertools import accumulate, pairwise

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
