"""One OS read per report (hotline/entropy.py) and tip references drawn from it.

The draw must hand out every byte at most once, in pieces as random as separate
reads; the short tip reference must stay uniform over its 30-letter alphabet
when built from raw bytes (rejection sampling, not a biased ``byte % 30``).
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from hotline import entropy
from hotline.domain import _REF_ALPHABET, new_message_id, new_tip_id, new_tip_ref, ref_letters
from hotline.entropy import DRAW_BYTES, Draw


class CountingSource:
    """Stands in for ``os.urandom``: consecutive byte values, so reuse would show."""

    def __init__(self) -> None:
        self.reads: list[int] = []
        self._next = 0

    def __call__(self, n: int) -> bytes:
        self.reads.append(n)
        out = bytes((self._next + i) % 256 for i in range(n))
        self._next += n
        return out


@pytest.fixture
def source(monkeypatch: pytest.MonkeyPatch) -> CountingSource:
    src = CountingSource()
    monkeypatch.setattr(entropy.os, "urandom", src)
    return src


def test_a_report_worth_of_pieces_is_one_read_given_out_once(source: CountingSource) -> None:
    draw = Draw()
    pieces = [draw(n) for n in (16, 24, 16, 8, 32, 32, 32, 24, 24)]  # a web report's needs
    assert source.reads == [DRAW_BYTES]
    joined = b"".join(pieces)
    assert joined == bytes(i % 256 for i in range(len(joined)))  # in order, no byte twice


def test_a_piece_larger_than_what_is_left_reads_afresh_and_drops_the_rest(
        source: CountingSource) -> None:
    draw = Draw(size=40)
    first = draw(30)
    second = draw(20)  # 10 left: not enough, so a new read; the 10 are never handed out
    third = draw(DRAW_BYTES + 5)  # more than a whole draw: a read of that size
    assert source.reads == [40, DRAW_BYTES, DRAW_BYTES + 5]
    assert first == bytes(range(30))
    assert second == bytes(range(40, 60))
    assert len(third) == DRAW_BYTES + 5
    assert len({first, second, third}) == 3
    assert draw(0) == b""
    with pytest.raises(ValueError):
        draw(-1)


def test_ids_take_their_sixteen_bytes_from_the_given_source() -> None:
    draw = Draw()
    ids = {new_message_id(draw) for _ in range(50)} | {new_tip_id(draw) for _ in range(50)}
    assert len(ids) == 100
    assert all(len(i) == 27 for i in ids)


def test_every_byte_value_once_gives_every_letter_equally_often() -> None:
    """Exact: each of the 256 byte values once gives each of the 30 letters exactly 8 times.

    A plain ``byte % 30`` would give the first 16 letters 9 chances in 256 and the
    other 14 only 8; dropping the bytes from 240 up leaves every letter 8."""
    counts = Counter(ref_letters(bytes(range(256))))
    assert counts == dict.fromkeys(_REF_ALPHABET, 8)


def test_reference_letters_are_uniform_and_independent_by_position() -> None:
    """Chi-square per position over 30,000 references from a seeded byte source
    (fixed seed: the test is deterministic); 29 degrees of freedom, p = 0.001 -> 58.3."""
    rnd = random.Random(16)  # noqa: S311 - a fixed, reproducible source for a statistical test
    refs = [new_tip_ref(rnd.randbytes) for _ in range(30_000)]
    assert all(len(r) == 7 and r[3] == "-" for r in refs)
    expected = len(refs) / len(_REF_ALPHABET)
    for position in (0, 1, 2, 4, 5, 6):
        counts = Counter(r[position] for r in refs)
        assert set(counts) == set(_REF_ALPHABET)
        chi2 = sum((counts[c] - expected) ** 2 / expected for c in _REF_ALPHABET)
        assert chi2 < 58.3, (position, chi2)
    pairs = Counter((r[0], r[6]) for r in refs)  # first and last letters independent
    expected_pair = len(refs) / len(_REF_ALPHABET) ** 2
    chi2 = sum((pairs[(a, b)] - expected_pair) ** 2 / expected_pair
               for a in _REF_ALPHABET for b in _REF_ALPHABET)
    assert chi2 < 1005.0, chi2  # 899 degrees of freedom, p = 0.001


def test_references_from_the_os_look_like_references() -> None:
    refs = {new_tip_ref() for _ in range(200)}
    assert len(refs) > 190
    assert all(len(r) == 7 and set(r.replace("-", "")) <= set(_REF_ALPHABET) for r in refs)
