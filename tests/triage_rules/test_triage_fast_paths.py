"""The fast paths give exactly what the original code gave.

``normalize`` is compared with ``_normalize_reference`` (the original
character-by-character implementation) and ``RuleSet.evaluate`` with
``_matching_reference.evaluate`` (the original normalisation and every rule
traced in full), on arbitrary text and on texts built from the default pack's
own phrases, cues and examples mixed with random words.
"""

from __future__ import annotations

import dataclasses
import importlib
import textwrap
import time
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage_rules import Decision, RuleSet, _re2, default_pack_dir, load_rules, normalize
from triage_rules import _matching_reference as reference
from triage_rules._normalize_reference import normalize as reference_normalize
from triage_rules.matching import Doc, NearMatcher
from triage_rules.normalize import prepare_for_matching

# the module, not the function the package exports under the same name
fast = importlib.import_module("triage_rules.normalize")
# where normalize's folding and offset tables live (modules split by role)
folding = importlib.import_module("triage_rules.folding")
offsets = importlib.import_module("triage_rules.offsets")

_PACK: list[RuleSet] = []


def pack() -> RuleSet:
    if not _PACK:
        _PACK.append(load_rules([default_pack_dir()]))
    return _PACK[0]


def same_normalization(text: str) -> None:
    assert normalize(text) == reference_normalize(text), repr(text)


# -- normalize -------------------------------------------------------------------

TRICKY = list(
    "aZ09 ,.!?;:¿¡…\n\r\t\x00\x01\x0b\x85\u2028'’‘ʼ`´′＇\u200b\u200d\u00ad\ufe0f\u202e"
    "\u0301\u0316\u0345\u0327ßẞﬁﬀĳ½²ªºµİıǅΣσςéñÑÅ\u0627\u093f\u0915\u094d\u0e33"
    "ＦＵＬＬ。、，\U0001f642\U0001f469\ud800\udc80"
)
SHORTHAND = [
    "can't",
    "cant",
    "dont",
    "don't",
    "im",
    "I'm",
    "u",
    "pls",
    "xq",
    "q",
    "ke",
    "stoy",
    "he's",
    "i'd",
]

tricky_text = st.lists(
    st.one_of(st.sampled_from(TRICKY), st.sampled_from(SHORTHAND), st.characters()), max_size=80
).map("".join)


@settings(max_examples=600, deadline=None)
@given(st.text(max_size=120))
def test_normalize_matches_the_reference_on_any_text(text: str) -> None:
    same_normalization(text)


@settings(max_examples=600, deadline=None)
@given(tricky_text)
def test_normalize_matches_the_reference_on_tricky_text(text: str) -> None:
    same_normalization(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TRICKY + SHORTHAND), max_size=400).map("".join))
def test_normalize_matches_the_reference_on_long_tricky_text(text: str) -> None:
    same_normalization(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "'",
        "''a''",
        "a''b",
        "a'b'c",
        "'can't'",
        "don't' x",
        "kil\u200bl me",
        "a\u200b b",
        "a \u200bb",
        "\u200ba",
        "a\u200b",
        "a'\u200bb",
        "❤️ help ❤️",
        "I\u200d'm scared",
        "ß ß ßx",
        "½'x x'½",
        "e\u0301\u0301\u0316",
        "\u0301\u0301start",
        "Ａ" + "\u0301" * 40 + "\u0316" * 40 + "b",
        "x" + "\u0316\u0301" * 60,
        "\u0345" * 50 + "İ" + "\u0316" * 50,
        "I can’t leave… he’s got my passport!!",
        "Привет, мне нужна помощь. Он забрал паспорт",
        "日本語のテキスト。助けて",
        "mixed Привет and ’quotes’ and 🙂 " * 10,
        "q hago? xq no me dejan… tb pq xfa",
        "u r my boss pls, i'm scared, dont go",
        ".!?,;:" * 20,
        "word " * 300,
        "ab'" * 100,
    ],
)
def test_normalize_matches_the_reference_on_examples(text: str) -> None:
    same_normalization(text)


def test_long_runs_of_marks_stay_fast_and_exact() -> None:
    # unicodedata sorts a run of combining marks by insertion: quadratic. The
    # fast path sorts long runs first; the reference takes seconds here.
    text = "a" + "\u0301\u0316" * 20_000 + " help"
    started = time.process_time()
    result = normalize(text)
    assert time.process_time() - started < 2.0
    assert result.text == "a help"
    assert result.to_original(0, 1) == (0, 40_001)
    short = "a" + "\u0301\u0316" * 200 + " help"
    same_normalization(short)


def test_combining_marks_keep_their_class_when_decomposed() -> None:
    # _canonical_order relies on it: sorting marks by class is canonical ordering
    for code in range(0x110000):
        char = chr(code)
        klass = unicodedata.combining(char)
        if klass:
            for form in ("NFD", "NFKD"):
                assert {unicodedata.combining(c) for c in unicodedata.normalize(form, char)} == {klass}


def test_latin1_tables_are_consistent() -> None:
    assert folding._LATIN1[folding._SPECIAL_STAND_IN[0]] == ord(folding._SPECIAL)
    assert folding._LATIN1[folding._DROPPED_STAND_IN[0]] == ord(folding._SPECIAL)
    assert folding._segment_value(folding._DROPPED_STAND_IN.decode("latin-1")) == ""
    assert folding._segment_value(folding._SPECIAL_STAND_IN.decode("latin-1")) != ""
    for code in range(0x100):
        value = folding._char_value(chr(code))
        assert folding._LATIN1[code] == (ord(value) if ord(value) < 0x100 else ord(folding._SPECIAL))


def test_a_full_translate_table_still_folds(monkeypatch: pytest.MonkeyPatch) -> None:
    table = folding._Table()
    monkeypatch.setattr(folding, "_TABLE_LIMIT", 0)
    monkeypatch.setattr(folding, "_TABLE", table)
    for text in ["Привет мир", "日本語 ’ok’", "ǅ ﬁ ß \u200b"]:
        same_normalization(text)
    assert len(table) == 0


def test_the_integer_cache_grows_and_has_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offsets, "_integers", tuple(range(8)))
    monkeypatch.setattr(offsets, "_INTEGER_LIMIT", 64)
    same_normalization("word " * 5)
    same_normalization("word " * 12)
    same_normalization("word " * 40 + "don't")
    assert 8 < len(offsets._integers) <= 64


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        tricky_text,
        st.lists(st.sampled_from(TRICKY + SHORTHAND), max_size=30).map("".join),
        st.lists(
            st.sampled_from(["a", "Bc", " ", "  ", "'", "’", ".", ", ", "\n", "x'y", "''", "🙂", *SHORTHAND]),
            max_size=25,
        ).map("".join),
    )
)
def test_prepared_text_maps_back_like_normalize(text: str) -> None:
    # what evaluate matches on: the same text, words and clauses, offsets on demand
    prepared = fast.prepare_for_matching(text)
    normalized = normalize(text)
    if text.isascii():
        assert isinstance(prepared, fast.PreparedText) or not normalized.text
    assert prepared.text == normalized.text
    assert tuple(prepared.clause_starts) == normalized.clause_starts
    assert list(prepared._word_starts) == [start for start, _ in normalized.word_spans]
    size = len(normalized.text)
    for start in range(-1, size + 2):
        for end in range(start - 1, size + 2):
            assert prepared.to_original(start, end) == normalized.to_original(start, end), (start, end)
    for word in range(len(normalized.word_spans)):
        assert prepared.clause_start(word) == normalized.clause_start(word)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "Bc", " ", ". ", "!", ",", "\n", "'", "’", "x'y", "🙂", "…", "¿", *SHORTHAND]),
        max_size=30,
    ).map("".join)
)
def test_clause_marked_text_matches_the_clause_starts(text: str) -> None:
    # what negation walks on: the normalised text, a line break before each clause's first word
    normalized = normalize(text)
    expected = fast._mark_clauses(normalized.words, normalized.clause_starts)
    assert normalized.clause_marked() == expected
    assert fast.prepare_for_matching(text).clause_marked() == expected
    assert expected.replace("\n", " ") == normalized.text


def test_expansions_to_nothing_keep_clauses_straight(monkeypatch: pytest.MonkeyPatch) -> None:
    # the shipped table has no such values, but a table may: "zz" expands to no word
    table = {"zz": " ", "yy": "a  b", "it's": "it is"}
    monkeypatch.setattr(fast, "shorthand", lambda: table)
    monkeypatch.setattr(
        importlib.import_module("triage_rules._normalize_reference"), "shorthand", lambda: table
    )
    for text in ["zz. zz, x zz", "x. zz! yy, zz", "zz", "a, zz. b", "it's zz. yy zz", "x\u200bzz. ß zz, yy"]:
        same_normalization(text)
        prepared = fast.prepare_for_matching(text)
        normalized = normalize(text)
        assert (prepared.text, tuple(prepared.clause_starts)) == (normalized.text, normalized.clause_starts)
        assert prepared.clause_marked() == fast._mark_clauses(normalized.words, normalized.clause_starts)


# -- evaluate ----------------------------------------------------------------------


def without_spans(decision: Decision) -> Decision:
    return dataclasses.replace(
        decision, fired=tuple(dataclasses.replace(hit, spans=()) for hit in decision.fired)
    )


def same_decision(rules: RuleSet, text: str, lang: str | None = None, channel: str | None = None) -> None:
    expected = reference.evaluate(rules, text, lang=lang, channel=channel)
    assert rules.evaluate(text, lang=lang, channel=channel) == expected, repr(text)
    assert rules.explain(text, lang=lang, channel=channel).decision == expected, repr(text)
    quick = rules.evaluate(text, lang=lang, channel=channel, spans=False)
    assert quick == without_spans(expected), repr(text)


def _pack_fragments() -> tuple[list[str], list[str]]:
    """Texts that fire or nearly fire the default pack: phrases, examples, near terms; and its cues."""
    rules = pack()
    fragments: list[str] = []
    cues: list[str] = []
    for rule in rules.rules:
        fragments += rule.phrases
        fragments += rule.examples.match
        fragments += rule.examples.no_match
        for near in rule.near:
            fragments += near.a + near.b
        cues += rule.unless
    return sorted(set(fragments)), sorted(set(cues))


FRAGMENTS, CUES = _pack_fragments()
FILLER = (
    "the and he she they my boss work house money night day please help me we are was is a of "
    "el la los que por favor ayuda mi jefe casa dinero noche dia trabajo yo ella ellos de en "
    "if si when cuando pero but also tambien".split()
)
SEPARATORS = [" ", " ", " ", ", ", ". ", "! ", "? ", "\n", " - ", "… ", "¿", "¡", " 🙂 ", "’", "'", " ’s "]

pack_text = st.lists(
    st.tuples(
        st.one_of(
            st.sampled_from(FRAGMENTS),
            st.sampled_from(CUES),
            st.sampled_from(FILLER),
            st.text(alphabet="abcdefghijklmnopqrstuvwxyzáéíóúñ", min_size=1, max_size=8),
        ),
        st.sampled_from(SEPARATORS),
    ),
    max_size=25,
).map(lambda parts: "".join(word + separator for word, separator in parts))
langs = st.sampled_from([None, "en", "es", "es-MX", "fr", ""])
channels = st.sampled_from([None, "web", "sms", "voice", "fax"])


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pack_text, langs, channels)
def test_evaluate_matches_the_reference_on_pack_vocabulary(
    text: str, lang: str | None, channel: str | None
) -> None:
    same_decision(pack(), text, lang, channel)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FRAGMENTS), st.sampled_from(CUES), st.integers(min_value=20, max_value=120))
def test_evaluate_matches_the_reference_past_the_hit_limits(fragment: str, cue: str, repeats: int) -> None:
    # more hits than MAX_HITS, negated ones among them
    text = f"{fragment}. {cue} {fragment}, " * repeats
    same_decision(pack(), text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), langs, channels)
def test_evaluate_matches_the_reference_on_any_text(text: str, lang: str | None, channel: str | None) -> None:
    same_decision(pack(), text, lang, channel)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Please help me, I am in danger right now",
        "I am not in danger. He has a gun. No! he has a gun",
        "they took my passport and my papers, he keeps them",
        "No me dejan salir. Me quitaron el pasaporte y debo 5000 dólares",
        "I’m not safe, they’re hurting us… pls help",
        "he has no gun, he has a knife",
    ],
)
def test_evaluate_matches_the_reference_on_examples(text: str) -> None:
    for lang in (None, "en", "es"):
        same_decision(pack(), text, lang, "web")


CUSTOM = r"""
[[rule]]
id = "near.and.cues"
near = [{ a = ["passport", "papers"], b = ["took", "keeps"], b_patterns = ['hid(den)?'], within = 3 },
        { a = ["gun"], b = ["has"], within = 1 }]
unless = ["not", "never", "no one"]
negation_window = 2
score = 3
[rule.examples]
match = ["they took my passport", "he has gun"]

[[rule]]
id = "anchored"
patterns = ['^urgent\b', 'code \d{3}$', 'threat\w*']
score = 1
[rule.examples]
match = ["URGENT: call", "my code 123", "threatening"]

[[rule]]
id = "non.ascii"
phrases = ["опасность", "помогите мне", "危险"]
unless = ["нет"]
urgency = "high"
[rule.examples]
match = ["Опасность!", "помогите мне пожалуйста"]
no_match = ["нет опасность"]

[[rule]]
id = "redos"
patterns = ['(a+)+$', '(x+x+)+y']
score = 1
[rule.examples]
match = ["aaaa", "xxxy"]

[lists]
documents = ["passport", "papers"]

[[rule]]
id = "groups.all"
all = [["@documents"], { phrases = ["boss"], patterns = ['hid(den)?'] }, "urgent"]
unless = ["not", "never"]
negation_window = 2
score = 2
[rule.examples]
match = ["passport boss urgent"]

[[rule]]
id = "groups.any"
phrases = ["опасность помогите"]
any = [["gun"], ["took", "keeps"], "aaaa", "code 123"]
at_least = 2
unless = ["no one", "нет"]
score = 1
[rule.examples]
match = ["gun took"]

[[rule]]
id = "near.wide"
near = [{ a = ["x", "a", "they took my"], b = ["has", "a x a", "gun"], within = 2 },
        { a = ["code 123 4567"], b_patterns = ['x+'], within = 1 }]
score = 1
[rule.examples]
match = ["x has"]

[[rule]]
id = "groups.any.one"
any = [["has"], ["hidden"]]
score = 1
[rule.examples]
match = ["hidden"]

[[rule]]
id = "near.reach"
score = 1
[[rule.near]]
a = ["they took", "took my passport", "code", "a x a"]
b = ["boss keeps", "urgent", "hidden", "gun"]
within = 2
[[rule.near]]
a = ["papers"]
b = ["keeps"]
within = 1
[rule.examples]
match = ["they took x boss keeps", "papers keeps"]

[[rule]]
id = "near.reach.negated"
near = { a = ["took my passport", "they took", "aaaa"], b = ["boss", "keeps", "hidden", "xxxy"], within = 3 }
unless = ["not", "no one", "never", "one never"]
negation_window = 2
score = 1
[rule.examples]
match = ["they took my passport boss"]
no_match = ["not they took boss", "they took no one boss"]

[[rule]]
id = "near.reach.words"
near = { a = ["code", "papers", "x"], b = ["urgent", "keeps", "gun"], within = 2 }
score = 1
[rule.examples]
match = ["code x urgent", "keeps papers"]
no_match = ["code y y urgent"]
"""

custom_text = st.lists(
    st.tuples(
        st.sampled_from(
            [
                *"they took my passport papers hid hidden he has gun not never no one urgent code 123 "
                "4567 threat threatening опасность помогите мне нет 危险 aaaa xxxy x a boss keeps".split(),
                *["took my passport", "they took", "one never"],
            ]
        ),
        st.sampled_from([" ", ", ", ". ", "\n", "! ", "’"]),
    ),
    max_size=30,
).map(lambda parts: "".join(word + separator for word, separator in parts))


@pytest.fixture(scope="module")
def custom(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    path: Path = tmp_path_factory.mktemp("rules") / "custom.toml"
    path.write_text(textwrap.dedent(CUSTOM), encoding="utf-8")
    return load_rules([path])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=custom_text)
def test_evaluate_matches_the_reference_on_custom_rules(custom: RuleSet, text: str) -> None:
    same_decision(custom, text)


def test_a_failed_prefilter_pass_runs_every_rule(custom: RuleSet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_re2.RegexSet, "match", lambda self, data: None)
    for text in ["they took my passport", "he has not gun", "Опасность", "nothing", "aaaa"]:
        same_decision(custom, text)
        same_decision(pack(), text)


def test_sets_refused_by_re2_are_split_or_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    real = _re2.RegexSet.__init__

    def picky(self: _re2.RegexSet, patterns: list[str]) -> None:
        if len(patterns) > 3 or any("gun" in pattern for pattern in patterns):
            raise _re2.PatternError("too large")
        real(self, patterns)

    monkeypatch.setattr(_re2.RegexSet, "__init__", picky)
    rules = dataclasses.replace(pack())  # a new prefilter, built with the picky sets
    prefilter = rules._prefilter
    assert prefilter._unfiltered
    assert prefilter._sets
    assert all(regex_set.size <= 3 for regex_set, _ in prefilter._sets)
    for text in [*FRAGMENTS[:80], "he has a gun", "tiene una pistola", "nobody has a gun"]:
        same_decision(rules, text)


def test_evaluate_skips_rules_that_cannot_fire() -> None:
    rules = pack()
    candidates = rules._prefilter.candidates(b"hello there how are you")
    assert candidates == []
    danger = rules._prefilter.candidates(b"he has a gun")
    assert [rules.rules[index].id for index, _, _ in danger] == ["danger.weapon.en"]


@pytest.mark.parametrize(
    "text",
    [
        "x " * 300 + "has",
        "has " + "x " * 300,
        "x " * 255 + "has",
        "gun " * 300 + "a",
        "they took my " * 100 + "gun",
        "a x a " * 90 + "has",
        "passport boss urgent " * 100,
        "not passport, " * 300 + "passport boss urgent",
    ],
)
def test_evaluate_matches_the_reference_past_the_term_limits(custom: RuleSet, text: str) -> None:
    # proximity and groups look at no more than MAX_TERMS places of each side
    same_decision(custom, text)


def test_proximity_of_disjoint_phrases_is_screened_by_one_expression(custom: RuleSet) -> None:
    # phrase-only sides that share no word get a "reach" expression; others do not
    def reach(rule_id: str) -> list[bool]:
        return [
            matcher._reach is not None
            for matcher in custom.rule(rule_id).matchers
            if isinstance(matcher, NearMatcher)
        ]

    assert reach("near.reach") == [True, True]
    assert reach("near.reach.negated") == [True]
    assert reach("near.and.cues") == [False, True]  # b_patterns; then two phrase sides
    assert reach("near.wide") == [False, False]  # "a" on both sides; b_patterns
    single = [m._single_words for m in custom.rule("near.reach.words").matchers if isinstance(m, NearMatcher)]
    assert single == [True]
    assert [m._single_words for m in custom.rule("near.reach").matchers if isinstance(m, NearMatcher)] == [
        False,
        True,
    ]


@pytest.mark.parametrize(
    "text",
    [
        "they took my passport x boss keeps",  # the scan sees "they took", then "my passport"
        "took my passport x x boss keeps",
        "boss keeps x code",
        "code x x x urgent",
        "they " * 300 + "took urgent",
        "code " * 300 + "x urgent",
        "code x " * 200 + "urgent",
        "they took no one never boss",
        "they took not x boss, they took one never boss",
        "papers. keeps",
        "code " * 300 + "urgent",
        "code " * 254 + "urgent",
        "code " * 255 + "urgent",
        "code " * 256 + "urgent",
        "papers " * 257 + "keeps",
        "papers " * 258 + "keeps",  # the 257th and 258th "papers" are past the proximity limit
        "papers " * 259 + "keeps",
        "urgent " * 300 + "papers",
        "x " * 255 + "gun",
        "a " * 253 + "code a urgent",
        "a " * 254 + "code a urgent",
        "a " * 255 + "code a urgent",
    ],
)
def test_evaluate_matches_the_reference_where_reach_and_last_cue_words_decide(
    custom: RuleSet, text: str
) -> None:
    same_decision(custom, text)


def test_negation_looks_up_each_texts_cue_words_once() -> None:
    rules = pack()
    doc = Doc(prepare_for_matching("I am not in danger, no one took my passport"))
    negations = [rule.negation for rule in rules.rules if rule.negation is not None]
    for negation in negations:
        negation.negates_at(doc, 0)
        negation.negates_at(doc, len(doc.data) - 3)
    assert doc._last_words is not None
    assert (
        0
        < len(doc._last_words)
        <= len({negation._last_words.pattern for negation in negations if negation._last_words})
    )
