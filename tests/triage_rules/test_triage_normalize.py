"""Normalisation: folding, shorthand, clause breaks, and the map back to the original."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage_rules import RuleError, normalize
from triage_rules.normalize import parse_shorthand, shorthand


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, World!", "hello world"),
        ("  ¿Está   bien?  ", "esta bien"),
        ("NIÑA, año, corazón", "nina ano corazon"),
        ("Straße", "strasse"),
        ("ＦＵＬＬ　ｗｉｄｔｈ", "full width"),
        ("ﬁne", "fine"),
        ("e\u0301 combining", "e combining"),
        ("kil\u200bl me", "kill me"),
        ("\u202bRTL\u200f marks\u200e", "rtl marks"),
        ("tab\tnew\nline\x00nul\x07bell", "tab new line nul bell"),
        ("emoji🙂between", "emoji between"),
        ("$500 @ 5pm #help", "500 5pm help"),
        ("I can't, he won't", "i cannot he will not"),
        ("I can’t leave", "i cannot leave"),
        ("i cant leave", "i cannot leave"),
        ("don´t", "do not"),
        ("I'm scared, he's got a gun", "i am scared he is got a gun"),
        ("I'd go but my ID is gone", "i would go but my id is gone"),
        ("u r my boss pls", "you are my boss please"),
        ("he's gonna hurt me plz", "he is going to hurt me please"),
        ("q hago? xq no me dejan", "que hago porque no me dejan"),
        ("tb pq xfa", "tambien porque por favor"),
        ("my boss's car", "my boss s car"),
        ("'quoted' words", "quoted words"),
        ("", ""),
        ("!!! ...", ""),
    ],
)
def test_normalize_examples(text: str, expected: str) -> None:
    assert normalize(text).text == expected


def test_words_and_clauses() -> None:
    normalized = normalize("No! I am in danger, help. Now")
    assert normalized.words == ("no", "i", "am", "in", "danger", "help", "now")
    assert normalized.clause_starts == (0, 1, 5, 6)
    assert normalized.clause_start(4) == 1
    assert normalized.word_at(normalized.text.index("danger")) == 4


def test_offsets_of_expansions_cover_the_typed_word() -> None:
    original = "Hey, I can't go"
    normalized = normalize(original)
    assert normalized.text == "hey i cannot go"
    start = normalized.text.index("cannot")
    assert normalized.to_original(start, start + 6) == (7, 12)
    assert original[7:12] == "can't"
    do_not = normalize("they don't")
    assert do_not.text == "they do not"
    assert [original_slice(do_not, w) for w in do_not.word_spans] == ["they", "don't", "don't"]


def original_slice(normalized: object, span: tuple[int, int]) -> str:
    from triage_rules import NormalizedText

    assert isinstance(normalized, NormalizedText)
    start, end = normalized.to_original(*span)
    return normalized.original[start:end]


def test_offsets_for_multi_character_folds() -> None:
    original = "Maß ½ ﬁx"
    normalized = normalize(original)
    assert normalized.text == "mass 1 2 fix"
    slices = [original_slice(normalized, span) for span in normalized.word_spans]
    assert slices == ["Maß", "½", "½", "ﬁx"]


def test_to_original_edge_cases() -> None:
    normalized = normalize("ab cd")
    assert normalized.to_original(0, 0) == (0, 0)
    assert normalized.to_original(5, 5) == (5, 5)
    assert normalized.to_original(-3, 99) == (0, 5)


def test_shorthand_values_are_already_normalised() -> None:
    table = shorthand()
    assert table["pls"] == "please"
    for key, value in table.items():
        assert normalize(value).text == value, key
        assert all(word not in table for word in value.split()), key
        assert key == key.lower() and key.isascii(), key


def test_shorthand_rejects_a_key_listed_twice() -> None:
    with pytest.raises(RuleError, match="listed twice"):
        parse_shorthand('[en.a]\nu = "you"\n[es.b]\nu = "o"\n')


def _check_offsets(text: str) -> None:
    normalized = normalize(text)
    size = len(text)
    assert len(normalized.starts) == len(normalized.ends) == len(normalized.text)
    previous = (0, 0)
    for start, end in zip(normalized.starts, normalized.ends, strict=True):
        assert 0 <= start <= end <= size
        assert start >= previous[0] and end >= previous[1]
        previous = (start, end)
    for span in normalized.word_spans:
        start, end = normalized.to_original(*span)
        assert 0 <= start < end <= size
    assert "  " not in normalized.text
    assert normalized.text == normalized.text.strip()


unicode_text = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from(list("\u200e\u200f\u202a\u202b\u202e\u2066\u200b\u00ad\x00\x07\x1b\r\n\t '’`´")),
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(unicode_text)
def test_normalize_never_crashes_and_spans_stay_inside(text: str) -> None:
    _check_offsets(text)


@settings(max_examples=200, deadline=None)
@given(unicode_text)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text).text
    assert normalize(once).text == once


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1)
separators = st.text(alphabet=' ,.;!?\t\n-()"/', min_size=1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(words, separators), max_size=20))
def test_plain_words_map_back_to_themselves(parts: list[tuple[str, str]]) -> None:
    text = "".join(word + separator for word, separator in parts)
    normalized = normalize(text)
    table = shorthand()
    expected = [w.lower() for w, _ in parts]
    if any(word in table for word in expected):
        return
    assert normalized.words == tuple(expected)
    for word, span in zip(expected, normalized.word_spans, strict=True):
        start, end = normalized.to_original(*span)
        assert text[start:end].lower() == word
