"""What the second reader sees of a text: word and character n-grams of its normalised form.

The reader (``reader.py``) is a linear model over these features; the trainer
(``train/train_reader.py``) extracts them with this same function, so what was
learnt and what is read can never drift apart.

The text is first normalised exactly as the rules see it (``normalize``:
accents folded, case folded, texting shorthand expanded: "toy encerrada x
favor" reads "estoy encerrada por favor"). Then, as a set (a feature counts
once however often it occurs):

* ``w:`` every word, ``b:`` every pair of neighbouring words, and ``s:`` every pair of
  words one apart ("tiene moretones" and "tiene muchos moretones" share ``s:``/``b:``
  pairs a new writer's wording is likely to keep);
* ``n:`` the length in words, as one of five buckets;
* ``c:`` every run of ``CHAR_SIZES`` characters of `` text `` (the spaces at both
  ends and between words included, so "c: aho" marks a word start): spellings the
  corpus never showed ("ahoritita", "encerradas", "bleedin") still share most
  of their character runs with ones it did.

Cost is linear in the text: one normalisation, then one slice per character and
character size and 3 per word. Which sizes and pairs: chosen by leave-one-source-out
(``train/crossval.py``; ``triage_rules/README.md``): runs of 4 characters and the
word pairs one apart generalise to a new writer as well as runs of 3, 4 and 5 did,
for about half the features to look up.
"""

from __future__ import annotations

from itertools import pairwise

from .normalize import prepare_for_matching

CHAR_SIZES: tuple[int, ...] = (4,)
"""The character n-gram lengths."""

SKIP_PAIRS = True
"""Whether ``s:`` pairs of words one apart are features."""

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


def length_bucket(words: int) -> str:
    """The ``n:`` bucket of a text of ``words`` words."""
    return next(name for limit, name in _LENGTHS if words <= limit)


def features_of_normalized(flat: str) -> frozenset[str]:
    """The features of an already normalised text."""
    words = flat.split(" ") if flat else []
    found: set[str] = {"w:" + word for word in words}
    found.add("n:" + length_bucket(len(words)))
    found.update(f"b:{a} {b}" for a, b in pairwise(words))
    if SKIP_PAIRS:
        found.update(f"s:{a} {b}" for a, b in zip(words, words[2:], strict=False))
    padded = f" {flat} "
    size = len(padded)
    for n in CHAR_SIZES:
        found.update("c:" + padded[i : i + n] for i in range(size - n + 1))
    return frozenset(found)
