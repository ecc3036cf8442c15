"""The reader's inference over arrays (``reader_arrays``) reads exactly as the original.

``Reader.read`` reads texts of ``ARRAYS_FROM`` normalised characters or more over
numpy arrays; these tests call that path (``Reader._read_arrays``) on texts of
every length, and ``read``/``triage`` end to end, against the original inference
(``_reader_reference``): the same two floats bit for bit, the same suggestion,
the same version. For the shipped weights and for small random weights files
(random words, pairs, runs and weights of every size); and a weights file the
arrays cannot hold exactly is read in pure Python, still exactly.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage_rules import RuleSet, default_pack_dir, load_rules
from triage_rules._reader_reference import ReferenceReader
from triage_rules.compare import load_corpus
from triage_rules.reader import (
    ARRAYS_FROM,
    WEIGHTS_FORMAT,
    Reader,
    Reading,
    load_reader,
    reader_from_json,
    reader_version,
)
from triage_rules.reader_features import CHAR_SIZES, MAX_CHARS, SKIP_PAIRS, normalized_text
from triage_rules.train.sources import SOURCES
from triage_rules.triage import triage

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def reader() -> Reader:
    return load_reader()


@pytest.fixture(scope="module")
def reference() -> ReferenceReader:
    return ReferenceReader.load()


def over_arrays(reader: Reader, text: str) -> Reading:
    """The reading over arrays, whatever the text's length."""
    assert reader.arrays is not None
    return reader._read_arrays(reader.arrays, normalized_text(text))


# Words a report uses (English, Spanish and its texting shorthand), characters the
# normaliser folds or drops (accents, combining marks, emoji, ligatures), characters
# beyond U+FFFF, NUL, a lone surrogate, and scripts the vocabulary never saw.
_WORDS = ["he", "is", "hitting", "me", "now", "tonight", "passport", "safe", "pega", "ahorita",
          "la", "niña", "ayuda", "sangre", "jefe", "deuda", "toy", "encerrada", "x", "favor",
          "xfa", "q", "k", "tmb", "pq", "bn", "porfa", "ñ", "café", "e\u0301", "ﬁ", "straße",
          "😀", "🆘", "𝐇𝐄𝐋𝐏", "𠀀", "\x00", "\ud800", "Привет", "求救", "?", "¡", "...", ""]
_TEXTS = (st.text(max_size=400)
          | st.text(alphabet="abcdeghilmnoprstuyz0123456789ñáéíóúü' .,!?\n\t-", max_size=900)
          | st.lists(st.sampled_from(_WORDS), max_size=300).map(" ".join))


@settings(max_examples=400, deadline=None)
@given(text=_TEXTS)
def test_any_text_reads_over_arrays_exactly_as_the_original(
        reader: Reader, reference: ReferenceReader, text: str) -> None:
    expected = reference.read(text)
    assert over_arrays(reader, text) == expected
    assert reader.read(text) == expected


@pytest.mark.parametrize("corpus", SOURCES)
def test_every_corpus_message_reads_over_arrays_exactly_as_the_original(
        reader: Reader, reference: ReferenceReader, corpus: str) -> None:
    items = load_corpus(DATA / corpus)
    assert items
    for item in items:
        assert over_arrays(reader, item.text) == reference.read(item.text), item.text[:60]


def test_texts_beyond_the_cut_and_at_every_length_read_exactly(
        reader: Reader, reference: ReferenceReader) -> None:
    items = load_corpus(DATA / "triage_dev.jsonl")
    text = " ".join(item.text for item in items)
    assert len(normalized_text(text)) == MAX_CHARS  # far beyond what is read
    assert over_arrays(reader, text) == reader.read(text) == reference.read(text)
    for length in (*range(0, 12), ARRAYS_FROM - 1, ARRAYS_FROM, 1_500, MAX_CHARS - 1, MAX_CHARS + 5):
        piece = text[:length]
        assert over_arrays(reader, piece) == reader.read(piece) == reference.read(piece), length


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_rules([default_pack_dir()])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXTS)
def test_triage_shares_the_normalised_text_and_reads_as_before(
        reader: Reader, reference: ReferenceReader, ruleset: RuleSet, text: str) -> None:
    done = triage(ruleset, reader, text)
    assert done.decision == ruleset.evaluate(text, spans=False)
    assert done.reading == reference.read(text)


# --- random weights files ------------------------------------------------------------------

_ALPHABET = "ab ñé😀\ud800x"
_FEATURE_WORDS = st.text(alphabet="abñé😀x", min_size=0, max_size=4)
_WEIGHTS = (st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
            | st.sampled_from([0.0, -0.0, 5e-324, -2.2250738585072014e-308, 1e-300, 2.0 ** -60, 3.0])
            | st.floats(min_value=-4, max_value=4, width=32))


@st.composite
def weights_files(draw: st.DrawFn) -> dict[str, Any]:
    """A small weights document in the trainer's format, with a version that matches it."""
    names: list[str] = draw(st.lists(st.one_of(
        _FEATURE_WORDS.filter(lambda w: " " not in w).map(lambda w: "w:" + w),
        st.tuples(_FEATURE_WORDS, _FEATURE_WORDS).map(lambda p: f"b:{p[0]} {p[1]}"),
        st.tuples(_FEATURE_WORDS, _FEATURE_WORDS).map(lambda p: f"s:{p[0]} {p[1]}"),
        st.text(alphabet=_ALPHABET, min_size=CHAR_SIZES[0], max_size=CHAR_SIZES[0]).map(lambda r: "c:" + r),
        st.sampled_from(["n:1-3", "n:4-8", "n:9-20", "n:21-50", "n:51+"]),
    ), min_size=1, max_size=60))
    count = len(names)
    payload: dict[str, Any] = {
        "format": WEIGHTS_FORMAT, "char_sizes": list(CHAR_SIZES), "skip_pairs": SKIP_PAIRS,
        "vocab": names, "training_sha256": "0" * 64,
        "critical": {"weights": draw(st.lists(_WEIGHTS, min_size=count, max_size=count)),
                     "bias": draw(st.floats(-3, 3)), "threshold": draw(st.floats(0.01, 0.99))},
        "high": {"weights": draw(st.lists(_WEIGHTS, min_size=count, max_size=count)),
                 "bias": draw(st.floats(-3, 3)), "threshold": draw(st.floats(0.01, 0.99))},
    }
    payload["version"] = reader_version(payload)
    return payload


def texts_for(payload: dict[str, Any]) -> st.SearchStrategy[str]:
    """Texts made of the file's own words (so that many of its features are found), and any."""
    words = sorted({part for name in payload["vocab"] for part in name[2:].split(" ")}) or ["a"]
    return (st.lists(st.sampled_from([*words, "ab", "x"]), max_size=200).map(" ".join)
            | st.text(alphabet=_ALPHABET, max_size=300))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), payload=weights_files())
def test_random_weights_files_read_over_arrays_exactly_as_the_original(
        data: st.DataObject, payload: dict[str, Any]) -> None:
    reader = reader_from_json(payload)
    reference = ReferenceReader.from_json(payload)
    assert reader.arrays is not None  # weights of every size these arrays hold exactly
    for text in data.draw(st.lists(texts_for(payload), min_size=1, max_size=4)):
        expected = reference.read(text)
        assert over_arrays(reader, text) == expected, text
        assert reader.read(text) == expected


def test_weights_the_arrays_cannot_hold_are_read_in_pure_python_exactly(
        reader: Reader, reference: ReferenceReader) -> None:
    payload = {
        "format": WEIGHTS_FORMAT, "char_sizes": list(CHAR_SIZES), "skip_pairs": SKIP_PAIRS,
        "vocab": ["w:help", "w:now", "c: hel", "c:help"[:2 + CHAR_SIZES[0]], "n:1-3"],
        "training_sha256": "0" * 64,
        # weights 2**-1000 to 2**600 apart: too many limbs, and sums that could overflow
        "critical": {"weights": [2.0 ** 600, -(2.0 ** -1000), 1.0, 0.5, -(2.0 ** 600)],
                     "bias": -1.0, "threshold": 0.5},
        "high": {"weights": [0.25, 0.5, 1e-300, 0.0, 2.0], "bias": 0.0, "threshold": 0.5},
    }
    payload["version"] = reader_version(payload)
    wide = reader_from_json(payload)
    assert wide.arrays is None
    original = ReferenceReader.from_json(payload)
    for text in ["help now", "help " * 100, "", "now help help"]:
        assert wide.read(text) == original.read(text)
        assert math.isfinite(wide.read(text).p_critical)
