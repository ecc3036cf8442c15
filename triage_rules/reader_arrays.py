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
  outside it gets a place of its own above it). Two bits say which kind of
  feature a key is, so the kinds never meet.
* **distinct**: sort, keep the first of each run of equal keys.
* **lookup**: a cuckoo hash table of the vocabulary's keys (every key in one of
  two slots, one per table): two gathers and two comparisons give each query its
  place in the weights, 0 (weighing 0.0) when unknown.
* **exact sums**: each weight is an integer multiple of the smallest unit of
  precision among the weights (``2**exponent``); the integers are stored as
  32-bit limbs, one row per limb, so the sum of any set of weights is a few
  integer column sums (no rounding at all), put back together as a Python
  integer and divided by ``2**-exponent``: Python's integer division is
  correctly rounded, as ``math.fsum`` is, so the sum is the same float, bit for
  bit, as the original reader's ``fsum`` over the same weights.

``build_tables`` gives None for a weights file these arrays cannot hold exactly
(an alphabet of thousands of characters, non-finite or enormous weights, other
feature sizes); ``Reader.read`` then reads in pure Python, as it did before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import add

import numpy as np
import numpy.typing as npt

from .reader_features import CHAR_SIZES, MAX_CHARS, SKIP_PAIRS

Ints = npt.NDArray[np.int64]

RUN_SIZE = 4
"""The only run length these arrays read (``CHAR_SIZES``)."""

_KIND = 60
WORD_KEY, PAIR_KEY, SKIP_KEY, RUN_KEY = (kind << _KIND for kind in range(4))
"""The two bits above the payload that say which kind of feature a key is."""

_WORD_BITS = 30
"""A pair's key: first id << 30 | second id."""

_CHAR_BITS = 13
"""A run's key: its four characters' places, 13 bits each."""

_EXTRA = MAX_CHARS + 3
"""More than the distinct characters, and the words, of any text read (``MAX_CHARS``
characters, two spaces of padding): the room above the vocabulary's own ids and places
for the ones it does not know."""

_LIMB = 32
_MAX_LIMBS = 8
_MAX_WEIGHT = 2.0 ** 512
"""Weights at or beyond this (or not finite) are left to the pure-Python inference:
their sums could overflow a float, where ``fsum`` raises."""

_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0xFF51AFD7ED558CCD, 0xD6E8FEB86659FD93)
"""Odd 64-bit multipliers for the tables' hashes, tried in turn until every key has a slot."""


@dataclass(frozen=True, eq=False)
class ReaderArrays:
    """A reader's vocabulary as arrays (see the module documentation)."""

    words: Mapping[str, int]
    """Every word of the vocabulary's words and pairs: its id, from 1."""
    unknown_word: int
    """The first id above the vocabulary's: an unknown word's id is this plus its position."""
    char_places: npt.NDArray[np.int16]
    """By code point, up to the highest of the vocabulary's runs' characters and one more
    (where every higher code point is looked up): the character's place, from 1 (0: not
    in the vocabulary's runs)."""
    unknown_char: int
    """The first place above the vocabulary's characters: the others get places from here."""
    bits: int
    keys: tuple[Ints, Ints]
    """The two cuckoo tables: a vocabulary key per slot (-1: empty)."""
    places: tuple[Ints, Ints]
    """Each slot's feature's place in the weights (0: empty)."""
    multiplier: np.uint64
    limbs: Ints
    """Per place, the critical weight's limbs then the high weight's (``2 * limb_count`` rows)."""
    limb_count: int
    exponents: tuple[int, int]
    """Each model's unit: its weights are integer multiples of ``2**exponent``."""

    def sums(self, flat: str, length_place: int) -> tuple[int, float, float]:
        """For the normalised ``flat`` (at most ``MAX_CHARS`` characters): how many distinct
        features it has (the length bucket included), and the exact sums of the critical and
        the high weights of the known ones, the bucket's (``length_place``) included."""
        words = flat.split(" ") if flat else []
        queries: list[Ints] = []
        if words:
            queries += self._word_queries(words)
        padded = f" {flat} "
        if len(padded) >= RUN_SIZE:
            queries.append(self._run_queries(padded))
        query = np.concatenate(queries) if queries else np.zeros(0, np.int64)
        places = np.append(self._lookup(query), length_place)
        totals = self.limbs.take(places, axis=1).sum(axis=1).tolist()
        count = self.limb_count
        return (len(query) + 1,
                _value(totals[:count], self.exponents[0]),
                _value(totals[count:], self.exponents[1]))

    def _word_queries(self, words: list[str]) -> list[Ints]:
        """The distinct words', pairs' and pairs-one-apart's keys."""
        size = len(words)
        ids = np.fromiter(map(self.words.get, words, repeat(0)), np.int64, size)
        unknown = np.flatnonzero(ids == 0)
        if len(unknown):  # ids of their own, one per distinct unknown word (its last place among them)
            strange = list(map(words.__getitem__, unknown.tolist()))
            last = dict(zip(strange, range(len(strange)), strict=True))
            ids[unknown] = np.fromiter(map(last.__getitem__, strange), np.int64, len(strange))
            ids[unknown] += self.unknown_word
        found = [_distinct(ids.copy()) | WORD_KEY]
        if size > 1:
            found.append(_distinct((ids[:-1] << _WORD_BITS) | ids[1:]) | PAIR_KEY)
        if SKIP_PAIRS and size > 2:
            found.append(_distinct((ids[:-2] << _WORD_BITS) | ids[2:]) | SKIP_KEY)
        return found

    def _run_queries(self, padded: str) -> Ints:
        """The distinct runs' keys."""
        points = np.frombuffer(padded.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        table = self.char_places
        chars = table.take(np.minimum(points, len(table) - 1)).astype(np.int64)
        if not chars.all():  # characters the vocabulary never saw: places of their own above it
            outside = chars == 0
            _, rank = np.unique(points[outside], return_inverse=True)
            chars[outside] = rank + self.unknown_char
        step = _CHAR_BITS
        keys = ((chars[:-3] << 3 * step) | (chars[1:-2] << 2 * step)
                | (chars[2:-1] << step) | chars[3:])
        return _distinct(keys) | RUN_KEY

    def _lookup(self, query: Ints) -> Ints:
        """Each key's place in the weights (0: not in the vocabulary)."""
        first, second = _slots(query, self.multiplier, self.bits)
        keys, places = self.keys, self.places
        found: Ints = np.where(keys[0].take(first) == query, places[0].take(first), 0)
        found += np.where(keys[1].take(second) == query, places[1].take(second), 0)
        return found


def _distinct(keys: Ints) -> Ints:
    keys.sort()
    if len(keys) < 2:
        return keys
    first = np.empty(len(keys), bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return keys[first]


def _slots(keys: Ints, multiplier: np.uint64, bits: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """A key's slot in each table: two fields of the top bits of its product with ``multiplier``."""
    product = keys.view(np.uint64) * multiplier
    first = (product >> np.uint64(64 - bits)).astype(np.intp)
    second = ((product >> np.uint64(64 - 2 * bits)) & np.uint64((1 << bits) - 1)).astype(np.intp)
    return first, second


def _value(limbs: Sequence[int], exponent: int) -> float:
    """The float nearest (ties to even) to the integer the limbs make, times ``2**exponent``."""
    total = sum(limb << (_LIMB * i) for i, limb in enumerate(limbs))
    return float(total << exponent) if exponent >= 0 else total / (1 << -exponent)


def build_tables(terms: Mapping[str | tuple[str, ...], int], runs: Mapping[bytes, int],
                 critical: Sequence[float], high: Sequence[float]) -> ReaderArrays | None:
    """The arrays for a reader's tables (``Reader.terms``, ``Reader.runs``, the weights by
    place), or None when they cannot hold this vocabulary and these weights exactly."""
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
    char_places = np.zeros(max(map(ord, alphabet), default=0) + 2, np.int16)
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
            keys.append(WORD_KEY | words[term])
        elif len(term) == 2:
            keys.append(PAIR_KEY | words[term[0]] << _WORD_BITS | words[term[1]])
        else:
            keys.append(SKIP_KEY | words[term[0]] << _WORD_BITS | words[term[2]])
        places.append(place)
    for run, place in zip(text_runs, runs.values(), strict=True):
        key = 0
        for char in run:
            key = key << _CHAR_BITS | char_place[char]
        keys.append(RUN_KEY | key)
        places.append(place)
    cuckoo = _cuckoo(np.array(keys, np.int64), np.array(places, np.int64))
    if cuckoo is None:
        return None
    bits, tables, slot_places, multiplier = cuckoo
    return ReaderArrays(
        words=words,
        unknown_word=unknown_word,
        char_places=char_places,
        unknown_char=len(alphabet) + 1,
        bits=bits,
        keys=tables,
        places=slot_places,
        multiplier=multiplier,
        limbs=table,
        limb_count=count,
        exponents=exponents,
    )


def _limbs(critical: Sequence[float], high: Sequence[float]) -> tuple[Ints, int, tuple[int, int]] | None:
    """Both models' weights as integers in 32-bit limbs (low limbs unsigned, the top one
    signed), one row per limb, and each model's unit exponent; None for weights not finite
    or too large to sum safely, or too far apart in size for a few limbs."""
    exponents: list[int] = []
    integers: list[list[int]] = []
    for weights in (critical, high):
        if not all(math.isfinite(w) and abs(w) < _MAX_WEIGHT for w in weights):
            return None
        ratios = [w.as_integer_ratio() for w in weights]
        # the unit: the smallest power of two every weight is an integer multiple of
        exponent = min((-(d.bit_length() - 1) for n, d in ratios if n), default=0)
        integers.append([n << (-(d.bit_length() - 1) - exponent) for n, d in ratios])
        exponents.append(exponent)
    widest = max((abs(i).bit_length() for model in integers for i in model), default=0)
    count = widest // _LIMB + 1  # + 1: room for the sign in the top limb
    if count > _MAX_LIMBS:
        return None
    mask = (1 << _LIMB) - 1
    rows = [[(i >> (_LIMB * limb)) & mask if limb < count - 1 else i >> (_LIMB * limb) for i in model]
            for model in integers for limb in range(count)]
    return np.array(rows, np.int64), count, (exponents[0], exponents[1])


def _cuckoo(keys: Ints, places: Ints) -> tuple[int, tuple[Ints, Ints], tuple[Ints, Ints], np.uint64] | None:
    """Two tables of ``2**bits`` slots holding each key in one of its two slots (``_slots``)."""
    bits = max(4, (2 * len(keys) - 1).bit_length())  # each table at most half full
    for _ in range(3):
        for number in _MULTIPLIERS:
            multiplier = np.uint64(number)
            first, second = _slots(keys, multiplier, bits)
            held = _insert((first.tolist(), second.tolist()), 1 << bits)
            if held is not None:
                tables, slot_places = [], []
                for side in held:
                    at = np.flatnonzero(side >= 0)
                    table = np.full(1 << bits, -1, np.int64)
                    table[at] = keys.take(side[at])
                    chosen = np.zeros(1 << bits, np.int64)
                    chosen[at] = places.take(side[at])
                    tables.append(table)
                    slot_places.append(chosen)
                return bits, (tables[0], tables[1]), (slot_places[0], slot_places[1]), multiplier
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
