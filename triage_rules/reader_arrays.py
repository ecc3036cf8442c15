"""The second reader's inference over arrays: what a reading costs is a few numpy passes.

``Reader.read`` needs, for one normalised text, how many distinct features it has
(``reader_features``: words, pairs of neighbouring words, pairs one apart, runs of
4 characters of `` text ``, a length bucket) and the two exact sums of the weights
of those the reader knows. Done one feature at a time in Python (a slice or a
tuple, a hash, a set insertion, a dictionary lookup, per feature) that was
~0.5 ms for a 1.5 KB report, ~1,900 features. Here every feature is a 64-bit
integer key and each step is one numpy call over all of them:

* **keys**: a word is its id in the vocabulary's words (a word the vocabulary
  does not know gets an id of its own above them: the text's distinct features
  are still counted exactly); a pair is the two ids side by side; a run is its
  four characters' places in the vocabulary's alphabet, 13 bits each (a character
  outside it gets a place of its own above it); a length bucket is its number.
  Two bits above the payload keep pairs one apart, runs and buckets apart from
  the rest, so the kinds never meet.
* **distinct**: one sort, keep the first of each run of equal keys; their number
  is the feature count that scales the sums.
* **lookup**: a cuckoo hash table of the vocabulary's keys: every key is in one
  of two slots, one per table, and a slot's row holds the key itself and its
  weights, so a probe reads one row. The first table holds most keys (insertion
  tries it first); the second is probed only for the keys the first does not
  hold. A key is found only where the row's key equals it: a hash collision costs
  a probe, never a wrong feature.
* **exact sums**: each weight is an integer multiple of a unit ``2**exponent``
  (53 bits below the smallest weight's exponent); the integers are stored as
  32-bit limbs (the top one signed) in the rows, so the sum of any set of weights
  is a few integer column sums (no rounding at all), put back together as a
  Python integer and divided by ``2**-exponent``: Python's integer division is
  correctly rounded, as ``math.fsum`` is, so the sum is the same float, bit for
  bit, as the original reader's ``fsum`` over the same weights.

``build_tables`` gives None for a weights file these arrays cannot hold exactly
(an alphabet of thousands of characters, non-finite or enormous weights, other
feature sizes); ``Reader.read`` then reads in pure Python, as it did before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import numpy.typing as npt

from .reader_features import CHAR_SIZES, MAX_CHARS, SKIP_PAIRS

Ints = npt.NDArray[np.int64]

RUN_SIZE = 4
"""The only run length these arrays read (``CHAR_SIZES``)."""

_WORD_BITS = 30
"""A word's key is its id (below ``2**30``); a pair's, ``first << 30 | second``: at least
``2**30``, since ids start at 1."""

_CHAR_BITS = 13
"""A run's key: its four characters' places, 13 bits each."""

SKIP_KEY, RUN_KEY, LENGTH_KEY = (kind << 60 for kind in range(1, 4))
"""The two bits above every payload that keep pairs one apart, runs and length buckets apart
from words and neighbouring pairs (which need none) and from one another."""

_EXTRA = MAX_CHARS + 3
"""More than the distinct characters, and the words, of any text read (``MAX_CHARS``
characters, two spaces of padding): the room above the vocabulary's own ids and places
for the ones it does not know."""

_LIMB = 32
_MAX_CELLS = 1 << 23
"""At most this many cells in the two tables (64 MB): weights of the trainer's span need 2
limbs per weight and model (the shipped reader's tables: 1.3 million cells, 10 MB); any
finite weights below ``_MAX_WEIGHT`` at most 52."""
_MAX_WEIGHT = 2.0 ** 512
"""Weights at or beyond this (or not finite) are left to the pure-Python inference:
their sums could overflow a float, where ``fsum`` raises."""

_MULTIPLIERS = (
    (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F),
    (0xFF51AFD7ED558CCD, 0xD6E8FEB86659FD93),
    (0xA0761D6478BD642F, 0xE7037ED1A0B428DB),
)
"""Odd 64-bit multipliers for the two tables' hashes, tried in turn until every key has a slot."""


@dataclass(frozen=True, eq=False)
class ReaderArrays:
    """A reader's vocabulary as arrays (see the module documentation)."""

    words: Mapping[str, int]
    """Every word of the vocabulary's words and pairs: its id, from 1."""
    unknown_word: int
    """The first id above the vocabulary's: an unknown word's id is this plus its position."""
    char_places: Ints
    """By code point, up to the highest of the vocabulary's runs' characters and one more
    (where every higher code point is looked up): the character's place, from 1 (0: not
    in the vocabulary's runs)."""
    unknown_char: int
    """The first place above the vocabulary's characters: the others get places from here."""
    bits: int
    tables: tuple[Ints, Ints]
    """The two cuckoo tables, ``2**bits`` rows each: a vocabulary key (-1: empty slot), then
    the limbs of its critical weight and of its high weight (all 0 in an empty slot)."""
    multipliers: tuple[np.uint64, np.uint64]
    limb_count: int
    """Limbs per weight."""
    exponents: tuple[int, int]
    """Each model's unit: its weights are integer multiples of ``2**exponent``."""
    lengths: Mapping[str, int]
    """Each length bucket's key (a bucket the weights do not name has one no table holds)."""

    def sums(self, flat: str, bucket: str) -> tuple[int, float, float]:
        """For the normalised ``flat`` (at most ``MAX_CHARS`` characters) whose length bucket
        is ``bucket``: how many distinct features it has, and the exact sums of the critical
        and of the high weights of the known ones."""
        keys = _distinct(self._keys(flat, bucket))
        # each known key is in one of its two slots (most in the first table: insertion tries
        # it first), and a slot's row holds its key then its limbs; the second table is
        # probed only for the keys the first does not hold
        shift = np.uint64(64 - self.bits)
        one = self.tables[0].take((keys.view(np.uint64) * self.multipliers[0]) >> shift, axis=0)
        found = one[:, 0] == keys
        sums = found @ one[:, 1:]
        rest = keys[~found]
        two = self.tables[1].take((rest.view(np.uint64) * self.multipliers[1]) >> shift, axis=0)
        sums += (two[:, 0] == rest) @ two[:, 1:]
        totals = sums.tolist()
        count = self.limb_count
        return (len(keys),
                _value(totals[:count], self.exponents[0]),
                _value(totals[count:], self.exponents[1]))

    def _keys(self, flat: str, bucket: str) -> Ints:
        """Every feature's key, once per occurrence: words, pairs, pairs one apart, runs, and
        the length bucket last."""
        words = flat.split(" ") if flat else []
        size = len(words)
        pairs, skips = max(size - 1, 0), max(size - 2, 0) if SKIP_PAIRS else 0
        runs = max(len(flat) - 1, 0)  # the runs of 4 characters of `` flat ``
        keys = np.empty(size + pairs + skips + runs + 1, np.int64)
        if size:
            ids = keys[:size]
            ids[:] = np.fromiter(map(self.words.get, words, repeat(0)), np.int64, size)
            unknown = np.flatnonzero(ids == 0)
            if len(unknown):  # ids of their own, one per distinct unknown word
                strange = list(map(words.__getitem__, unknown.tolist()))
                last = dict(zip(strange, range(self.unknown_word, self.unknown_word + len(strange)),
                                strict=True))
                ids[unknown] = np.fromiter(map(last.__getitem__, strange), np.int64, len(strange))
            at = size
            if pairs:
                np.left_shift(ids[:-1], _WORD_BITS, out=keys[at : at + pairs])
                keys[at : at + pairs] |= ids[1:]
                at += pairs
            if skips:
                np.left_shift(ids[:-2] | (SKIP_KEY >> _WORD_BITS), _WORD_BITS, out=keys[at : at + skips])
                keys[at : at + skips] |= ids[2:]
        if runs:
            points = np.frombuffer(f" {flat} ".encode("utf-32-le", "surrogatepass"), dtype="<u4")
            table = self.char_places
            chars = table.take(np.minimum(points, len(table) - 1))
            if not chars.all():  # characters the vocabulary never saw: places of their own above it
                outside = chars == 0
                _, rank = np.unique(points[outside], return_inverse=True)
                chars[outside] = rank + self.unknown_char
            two = (chars[:-1] << _CHAR_BITS) | chars[1:]
            np.left_shift(two[:-2] | (RUN_KEY >> 2 * _CHAR_BITS), 2 * _CHAR_BITS, out=keys[-1 - runs : -1])
            keys[-1 - runs : -1] |= two[2:]
        keys[-1] = self.lengths.get(bucket, LENGTH_KEY | len(self.lengths))
        return keys


def _distinct(keys: Ints) -> Ints:
    """The distinct keys, sorted."""
    keys.sort()
    if len(keys) < 2:
        return keys
    first = np.empty(len(keys), bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return keys[first]


def _slots(keys: Ints, multipliers: tuple[np.uint64, np.uint64],
           bits: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """A key's slot in each table: the top ``bits`` of its product with that table's
    multiplier, modulo ``2**64`` (they depend on every bit of the key)."""
    unsigned, shift = keys.view(np.uint64), np.uint64(64 - bits)
    return (unsigned * multipliers[0]) >> shift, (unsigned * multipliers[1]) >> shift


def _value(limbs: Sequence[int], exponent: int) -> float:
    """The float nearest (ties to even) to the integer the limbs make, times ``2**exponent``."""
    total = sum(limb << (_LIMB * i) for i, limb in enumerate(limbs))
    return float(total << exponent) if exponent >= 0 else total / (1 << -exponent)


def build_tables(terms: Mapping[str | tuple[str, str] | tuple[str, str, str], int], runs: Mapping[bytes, int],
                 buckets: Mapping[str, int], critical: Sequence[float],
                 high: Sequence[float]) -> ReaderArrays | None:
    """The arrays for a reader's tables (``Reader.terms``, ``Reader.runs``, ``Reader.lengths``,
    the weights by place), or None when they cannot hold this vocabulary and these weights
    exactly."""
    if CHAR_SIZES != (RUN_SIZE,):
        return None
    limbs = _limbs(critical, high)
    if limbs is None:
        return None
    table, count, exponents = limbs
    text_runs = [run.decode("utf-32-le", "surrogatepass") for run in runs]
    alphabet = sorted({char for run in text_runs for char in run})
    if len(alphabet) + 1 + _EXTRA >= 1 << _CHAR_BITS:
        return None
    char_place = {char: place for place, char in enumerate(alphabet, start=1)}
    char_places = np.zeros(max(map(ord, alphabet), default=0) + 2, np.int64)
    for char, place in char_place.items():
        char_places[ord(char)] = place
    vocabulary = sorted({word for term in terms for word in ((term,) if isinstance(term, str) else term)})
    words = {word: id_ for id_, word in enumerate(vocabulary, start=1)}
    unknown_word = len(words) + 1
    if unknown_word + _EXTRA >= 1 << _WORD_BITS:
        return None
    keys: list[int] = []
    places: list[int] = []
    for term, place in terms.items():
        if isinstance(term, str):
            keys.append(words[term])
        elif len(term) == 2:
            keys.append(words[term[0]] << _WORD_BITS | words[term[1]])
        else:
            keys.append(SKIP_KEY | words[term[0]] << _WORD_BITS | words[term[2]])
        places.append(place)
    for run, place in zip(text_runs, runs.values(), strict=True):
        key = 0
        for char in run:
            key = key << _CHAR_BITS | char_place[char]
        keys.append(RUN_KEY | key)
        places.append(place)
    lengths = {bucket: LENGTH_KEY | number for number, bucket in enumerate(buckets)}
    keys += lengths.values()
    places += buckets.values()
    cuckoo = _cuckoo(np.array(keys, np.int64))
    if cuckoo is None:
        return None
    bits, held, multipliers = cuckoo
    if 2 * (1 << bits) * (1 + 2 * count) > _MAX_CELLS:
        return None
    rows = np.concatenate((np.array(keys, np.int64)[None, :], table.take(places, axis=1)))
    tables = []
    for side in held:  # per slot: the row of the key it holds; an empty slot: key -1, limbs 0
        slots = np.zeros((1 << bits, len(rows)), np.int64)
        slots[:, 0] = -1
        at = np.flatnonzero(side >= 0)
        slots[at] = rows.T.take(side[at], axis=0)
        tables.append(slots)
    for array in (char_places, *tables):
        array.flags.writeable = False  # shared by every thread that reads: never changed
    return ReaderArrays(
        words=words,
        unknown_word=unknown_word,
        char_places=char_places,
        unknown_char=len(alphabet) + 1,
        bits=bits,
        tables=(tables[0], tables[1]),
        multipliers=multipliers,
        limb_count=count,
        exponents=exponents,
        lengths=lengths,
    )


def _limbs(critical: Sequence[float], high: Sequence[float]) -> tuple[Ints, int, tuple[int, int]] | None:
    """Both models' weights as integers in 32-bit limbs (low limbs unsigned, the top one
    signed), one row per limb, and each model's unit exponent; None for weights not finite
    or too large to sum safely, or too far apart in size for a few limbs."""
    models: list[tuple[Ints, Ints]] = []
    units: list[int] = []
    for weights in (critical, high):
        values = np.array(weights, np.float64)
        if not (np.isfinite(values).all() and (np.abs(values) < _MAX_WEIGHT).all()):
            return None
        fractions, exponents = np.frexp(values)  # value = fraction * 2**exponent, 1/2 <= |fraction| < 1
        mantissas = np.ldexp(fractions, 53).astype(np.int64)  # exact: 53 bits
        nonzero = mantissas != 0
        unit = int(exponents[nonzero].min()) - 53 if nonzero.any() else 0
        # value = mantissa * 2**(exponent - 53) = (mantissa << shift) * 2**unit
        models.append((mantissas, np.where(nonzero, exponents - 53 - unit, 0).astype(np.int64)))
        units.append(unit)
    widest = 53 + max(int(shifts.max(initial=0)) for _, shifts in models)
    count = widest // _LIMB + 1  # + 1: room for the sign in the top limb
    if 2 * count * len(critical) > _MAX_CELLS:
        return None
    mask = (1 << _LIMB) - 1
    rows: list[Ints] = []
    for mantissas, shifts in models:
        if widest < 63:  # the integers fit in int64: cut them there
            integers = mantissas << shifts
            rows += [(integers >> (_LIMB * limb)) & mask for limb in range(count - 1)]
            rows.append(integers >> (_LIMB * (count - 1)))
        else:  # as Python integers
            big = list(map(int.__lshift__, mantissas.tolist(), shifts.tolist()))
            rows += [np.array([(i >> (_LIMB * limb)) & mask for i in big], np.int64)
                     for limb in range(count - 1)]
            rows.append(np.array([i >> (_LIMB * (count - 1)) for i in big], np.int64))
    return np.stack(rows), count, (units[0], units[1])


def _cuckoo(keys: Ints) -> tuple[int, tuple[Ints, Ints], tuple[np.uint64, np.uint64]] | None:
    """Two tables of ``2**bits`` slots holding each key in one of its two slots (``_slots``):
    ``bits``, per slot of each table the index of the key it holds (-1: none), the multipliers."""
    bits = max(4, (len(keys) - 1).bit_length())  # each table at least as large as the keys
    for _ in range(3):
        for pair in _MULTIPLIERS:
            multipliers = (np.uint64(pair[0]), np.uint64(pair[1]))
            first, second = _slots(keys, multipliers, bits)
            held = _insert((first.tolist(), second.tolist()), 1 << bits)
            if held is not None:
                return bits, held, multipliers
        bits += 1
    return None


def _insert(slots: tuple[list[int], list[int]], size: int) -> tuple[Ints, Ints] | None:
    """Cuckoo insertion of keys 0..n-1 (their slots in each table): per slot of each table, the
    key it holds (-1: none); None if some key found no slot."""
    held = ([-1] * size, [-1] * size)
    for key in range(len(slots[0])):
        moving, side = key, 0
        for _ in range(500):
            slot = slots[side][moving]
            moving, held[side][slot] = held[side][slot], moving
            if moving < 0:
                break
            side ^= 1
        else:
            return None
    return np.array(held[0], np.int64), np.array(held[1], np.int64)
