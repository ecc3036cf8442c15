"""What the second reader sees of a text: word and character n-grams of its normalised form.

The reader (``reader.py``) is a linear model over these features; the trainer
(``train/train_reader.py``) extracts them with this same function, so what was
learnt and what is read can never drift apart.

The text is first normalised exactly as the rules see it (``normalize``:
accents folded, case folded, texting shorthand expanded: "toy encerrada x
favor" reads "estoy encerrada por favor"). Then, as a set (a feature counts
once however often it occurs):

* ``w:`` every word, and ``b:`` every pair of neighbouring words;
* ``n:`` the length in words, as one of five buckets;
* ``c:`` every run of 3 to 5 characters of `` text `` (the spaces at both ends
  and between words included, so "c: ahor" marks a word start): spellings the
  corpus never showed ("ahoritita", "encerradas", "bleedin") still share most
  of their character runs with ones it did.

Cost is linear in the text: one normalisation, then at most 3 slices per
character and 2 per word.
"""

from __future__ import annotations

from itertools import pairwise

from .normalize import prepare_for_matching

CHAR_SIZES: tuple[int, ...] = (3, 4, 5)
"""The character n-gram lengths."""

MAX_CHARS = 4000
"""Texts are read up to this many normalised characters (emergencies are said early; the
budget stays bounded whatever a flood sends)."""


_LENGTHS: tuple[tuple[float, str], ...] = (
    (3, "1-3"), (8, "4-8"), (20, "9-20"), (50, "21-50"), (float("inf"), "51+"),
)
"""``n:`` the message's length in words, in buckets: a two-word text's few n-grams weigh
as much as a long one's many (each is scaled by 1/sqrt(count)); the bucket lets the model
learn how much to trust a very short message."""


def normalized_text(text: str) -> str:
    """The text as the rules read it: normalised words joined by single spaces."""
    return prepare_for_matching(text).text[:MAX_CHARS]


def features(text: str) -> frozenset[str]:
    """The reader's features of ``text`` (see the module documentation)."""
    return features_of_normalized(normalized_text(text))


def features_of_normalized(flat: str) -> frozenset[str]:
    """The features of an already normalised text."""
    words = flat.split(" ") if flat else []
    found: set[str] = {"w:" + word for word in words}
    found.add("n:" + next(name for limit, name in _LENGTHS if len(words) <= limit))
    found.update(f"b:{a} {b}" for a, b in pairwise(words))
    padded = f" {flat} "
    size = len(padded)
    for n in CHAR_SIZES:
        found.update("c:" + padded[i : i + n] for i in range(size - n + 1))
    return frozenset(found)
