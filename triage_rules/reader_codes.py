"""The reader's features as compact keys, found without a string per character run.

``reader_features`` defines what the reader sees (the trainer extracts exactly
that, as strings such as ``c:ahor``). Reading a message that way builds some
6,000 short strings per 2,000 characters, then looks each up: most of the
reader's cost. Here the same features get keys that need no per-feature
string:

* a word is the word itself (``str``), a pair of words a ``tuple`` of the two;
* a run of 3, 4 or 5 characters is an ``int``: its UTF-16 code units, the first
  character in the lowest 16 bits (``run_code``). The runs of 4 and 5
  characters at every position come from one pass of ``memoryview.cast`` over
  the UTF-16 bytes of the text (8 bytes = 4 characters = one unsigned 64-bit
  integer, read at the four offsets 0-3 mod 4), a 5-run is a 4-run plus the
  next character above bit 64, and the 4- and 3-runs are the low 64 and 48 bits
  of the distinct 5-runs (plus the few that start too near the end to begin a
  5-run). No character of a normalised text is NUL, so a 3-run's code lies in
  [2**32, 2**48), a 4-run's in [2**48, 2**64), a 5-run's in [2**64, 2**80): the
  three lengths never share a key, and within a length the code is the text.
* A run the codes cannot hold (a character beyond U+FFFF or a NUL, or a
  big-endian machine) is the 1-tuple of its text, and a message with one is
  read run by run (``named_run_keys``): slower, the same features.

Distinct features map to distinct keys and back, so the count of features (the
1/sqrt(count) scale) and the set of known ones are exactly those of
``reader_features.features``; the tests hold ``Reader.read`` to the original
(``_reader_reference``) on every corpus message and on generated text.
"""

from __future__ import annotations

import sys
from itertools import repeat
from operator import add, and_, lshift, mul

from .reader_features import CHAR_SIZES

Key = str | tuple[str, ...] | int
"""A feature's key: a word, a pair of words, a character run's code, or a run by its text."""

_CODED = CHAR_SIZES == (3, 4, 5) and sys.byteorder == "little"
_LOW_48 = (1 << 48) - 1
_MIX = 0x2545F4914F6CDD1D
"""An odd multiplier: ``hash(int)`` is the value modulo 2**61 - 1, whose low bits (the set's
slot) would otherwise be the first character alone; times this they depend on every one."""


def run_key(run: str) -> Key:
    """The key of a character run: its code, or the 1-tuple of its text when it has no code
    (the conditions of ``add_coded_run_keys``: no NUL, nothing beyond U+FFFF, no lone
    surrogate)."""
    if _CODED and "\0" not in run:
        try:
            units = int.from_bytes(run.encode("utf-16-le"), "little")
        except UnicodeEncodeError:
            return (run,)
        if units.bit_length() <= 16 * len(run):  # one code unit per character
            if len(run) == 5:  # a 4-run's key, then the fifth character below it
                return (((units & ((1 << 64) - 1)) * _MIX) << 16) + (units >> 64)
            return units * _MIX
    return (run,)


def add_coded_run_keys(keys: set[Key], padded: str) -> bool:
    """Add the keys of every run of 3, 4 and 5 characters of ``padded`` (the text with its
    spaces at both ends) to ``keys``; False (and nothing added) when a run would have no code.

    Keys: a 3-run's 48 bits times ``_MIX`` (below 2**48 * _MIX), a 4-run's 64 bits times
    ``_MIX`` (from 2**48 * _MIX: its fourth character is not NUL, up to 2**64 * _MIX), a
    5-run's 4-run key shifted by 16 plus its fifth character (from 2**64 * _MIX): three
    ranges that do not meet, and within each one key per run."""
    size = len(padded)
    if not _CODED or size < 5 or "\0" in padded:
        return False
    try:
        data = padded.encode("utf-16-le")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    if len(data) != 2 * size:  # a character beyond U+FFFF takes two code units
        return False
    view = memoryview(data)
    chars = view.cast("H")
    for offset in range(4):  # the 4-runs starting at offset, offset + 4, ...: one 64-bit integer each
        count = (size - 4 - offset) // 4 + 1
        if count <= 0:
            continue
        fours = view[2 * offset : 2 * offset + 8 * count].cast("Q").tolist()
        mixed = list(map(mul, fours, repeat(_MIX)))
        keys.update(mixed)
        keys.update(map(mul, map(and_, fours, repeat(_LOW_48)), repeat(_MIX)))
        # the 5-run at each of these positions (the last 4-run of all begins none)
        keys.update(map(add, map(lshift, mixed, repeat(16)), chars[offset + 4 :: 4]))
    # the 3-run that starts too near the end to begin a 4-run
    keys.add(int.from_bytes(data[-6:], "little") * _MIX)
    return True


def named_run_keys(padded: str) -> set[Key]:
    """The keys of every run of 3, 4 and 5 characters, one run at a time (any text)."""
    size = len(padded)
    return {run_key(padded[i : i + n]) for n in CHAR_SIZES for i in range(size - n + 1)}


def add_run_keys(keys: set[Key], padded: str) -> None:
    """Add the keys of every character run of ``padded`` to ``keys``: coded in one pass
    when it can be, else run by run."""
    if not add_coded_run_keys(keys, padded):
        keys.update(named_run_keys(padded))
