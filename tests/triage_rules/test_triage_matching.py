"""The rule language at work: phrases, patterns, proximity, negation, conditions, scoring."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage_rules import Decision, Hit, RuleSet, Urgency, default_pack_dir, load_rules


def rules_from(tmp_path: Path, text: str) -> RuleSet:
    path = tmp_path / "rules.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_rules([path])


SCORED = """\
[pack]
default_urgency = "normal"
[pack.thresholds]
high = 5
critical = 10

[[rule]]
id = "a"
phrases = ["alpha"]
score = 3
[rule.examples]
match = ["alpha"]

[[rule]]
id = "b"
phrases = ["bravo"]
score = 4
[rule.examples]
match = ["bravo"]

[[rule]]
id = "c"
phrases = ["charlie"]
score = 7
urgency = "high"
[rule.examples]
match = ["charlie"]

[[rule]]
id = "quiet"
phrases = ["just testing"]
urgency = "low"
[rule.examples]
match = ["this is just testing"]

[[rule]]
id = "sms.only"
phrases = ["stop"]
channels = ["sms"]
score = 1
[rule.examples]
match = ["STOP"]

[[rule]]
id = "spanish.only"
phrases = ["hola"]
lang = ["es"]
score = 1
[rule.examples]
match = ["hola"]
"""


@pytest.mark.parametrize(
    ("text", "urgency", "score", "ids"),
    [
        ("nothing here", Urgency.NORMAL, 0, ()),
        ("alpha", Urgency.NORMAL, 3, ("a",)),
        ("alpha bravo", Urgency.HIGH, 7, ("a", "b")),
        ("alpha charlie", Urgency.CRITICAL, 10, ("a", "c")),
        ("charlie", Urgency.HIGH, 7, ("c",)),
        ("just testing", Urgency.LOW, 0, ("quiet",)),
        ("just testing alpha bravo", Urgency.HIGH, 7, ("a", "b", "quiet")),
    ],
)
def test_score_thresholds_and_floors(
    tmp_path: Path, text: str, urgency: Urgency, score: int, ids: tuple[str, ...]
) -> None:
    decision = rules_from(tmp_path, SCORED).evaluate(text)
    assert (decision.urgency, decision.score, decision.rule_ids) == (urgency, score, ids)


def test_decision_shape(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, SCORED)
    decision = rules.evaluate("Alpha!")
    assert decision == Decision(
        urgency=Urgency.NORMAL,
        score=3,
        fired=(Hit("a", None, 3, ((0, 5),)),),
        ruleset_version=rules.version,
    )


def test_default_urgency_comes_from_the_pack(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, SCORED.replace('default_urgency = "normal"', 'default_urgency = "low"'))
    assert rules.evaluate("nothing").urgency is Urgency.LOW


def test_channel_condition(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, SCORED)
    assert rules.evaluate("stop", channel="sms").rule_ids == ("sms.only",)
    assert rules.evaluate("stop", channel="SMS").rule_ids == ("sms.only",)
    assert rules.evaluate("stop", channel=None).rule_ids == ("sms.only",)
    assert rules.evaluate("stop", channel="web").rule_ids == ()
    assert rules.evaluate("stop", channel="voice").rule_ids == ()


def test_language_condition(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, SCORED)
    assert rules.evaluate("hola", lang="es").rule_ids == ("spanish.only",)
    assert rules.evaluate("hola", lang="ES_mx").rule_ids == ("spanish.only",)
    assert rules.evaluate("hola", lang=None).rule_ids == ("spanish.only",)
    assert rules.evaluate("hola", lang="en").rule_ids == ()


def test_phrases_match_whole_words_only(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, SCORED)
    assert rules.evaluate("alphabet").fired == ()
    assert rules.evaluate("the alpha-male").rule_ids == ("a",)
    assert rules.evaluate("ALPHA").rule_ids == ("a",)


NEGATION = """\
[[rule]]
id = "danger"
phrases = ["in danger", "has a gun"]
unless = ["not", "no", "nobody", "no one"]
urgency = "critical"
[rule.examples]
match = ["I am in danger", "No. I am in danger", "he has a gun"]
no_match = ["I am not in danger", "nobody has a gun", "not really in danger", "no one here has a gun"]
"""


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("I am in danger", True),
        ("I am not in danger", False),
        ("I'm not really in danger", False),
        ("I am not sure what to do but I am in danger", True),
        ("No! I am in danger", True),
        ("not now, in danger", True),
        ("I am not in danger. I am in danger", True),
        ("no one here has a gun", False),
        ("nobody has a gun", False),
    ],
)
def test_negation(tmp_path: Path, text: str, fires: bool) -> None:
    rules = rules_from(tmp_path, NEGATION)
    assert bool(rules.evaluate(text).fired) is fires


def test_negation_window_is_configurable(tmp_path: Path) -> None:
    narrow = NEGATION.replace('urgency = "critical"', 'urgency = "critical"\nnegation_window = 1')
    narrow = narrow.replace('"not really in danger", ', "").replace(', "no one here has a gun"', "")
    rules = rules_from(tmp_path, narrow)
    assert rules.evaluate("not really in danger").fired != ()
    assert rules.evaluate("no one here has a gun").fired != ()
    assert rules.evaluate("not in danger").fired == ()


NEAR = """\
[[rule]]
id = "docs"
near = { a = ["passport", "papers"], b = ["took", "keeps"], b_patterns = ['hid(den)?'], within = 3 }
unless = ["not", "never"]
score = 3
[rule.examples]
match = ["they took my passport", "my passport, the boss keeps it", "papers hidden"]
no_match = ["passport photo", "they took the bus, and later, much later, my passport expired"]
"""


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("they took my passport", True),
        ("my passport, they keeps it", True),
        ("the boss hid our papers", True),
        ("took a long walk to renew the passport", False),
        ("they never took my passport", False),
        ("they keeps not one passport", False),
        ("passport", False),
    ],
)
def test_near(tmp_path: Path, text: str, fires: bool) -> None:
    assert bool(rules_from(tmp_path, NEAR).evaluate(text).fired) is fires


def test_near_reports_both_spans(tmp_path: Path) -> None:
    text = "They TOOK my Passport"
    hit = rules_from(tmp_path, NEAR).evaluate(text).fired[0]
    assert [text[s:e] for s, e in hit.spans] == ["TOOK", "Passport"]


def test_several_near_tables(tmp_path: Path) -> None:
    text = NEAR.replace("near = { a", 'near = [{ a = ["gun"], b = ["has"], within = 2 }, { a').replace(
        "within = 3 }", "within = 3 }]"
    )
    rules = rules_from(tmp_path, text)
    assert rules.evaluate("he has a gun").rule_ids == ("docs",)
    assert rules.evaluate("they took my passport").rule_ids == ("docs",)


CATASTROPHIC = r"""
[[rule]]
id = "redos"
patterns = ['(a+)+$', '(x+x+)+y', '(\w+\s?)*z']
score = 1
[rule.examples]
match = ["aaaa", "xxxy", "abc z"]
no_match = ["aaab", "xxxx"]
"""


def test_catastrophic_patterns_are_harmless(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, CATASTROPHIC)
    assert rules.evaluate("a" * 50_000 + "b").fired == ()
    assert rules.evaluate("x" * 50_000).fired == ()
    assert rules.evaluate("ab " * 20_000 + "!").fired == ()
    assert rules.evaluate("a" * 50_000).rule_ids == ("redos",)


def test_many_negated_hits_then_a_real_one(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, NEGATION)
    text = "I am not in danger. " * 100 + "I am in danger"
    assert rules.evaluate(text).rule_ids == ("danger",)


def test_pattern_anchors_and_case(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        r"""
        [[rule]]
        id = "anchored"
        patterns = ['^urgent\b', 'CODE \d{3}$']
        score = 1
        [rule.examples]
        match = ["URGENT: call", "my code 123"]
        no_match = ["not urgent", "code 123 now", "code 1234"]
        """,
    )
    assert rules.evaluate("Urgent!!").rule_ids == ("anchored",)


_DEFAULT: list[RuleSet] = []


def default() -> RuleSet:
    if not _DEFAULT:
        _DEFAULT.append(load_rules([default_pack_dir()]))
    return _DEFAULT[0]


@settings(max_examples=150, deadline=None)
@given(
    st.text(max_size=300),
    st.sampled_from([None, "en", "es", "fr", "", "x-y"]),
    st.sampled_from([None, "web", "sms", "voice", "fax"]),
)
def test_evaluate_never_raises(text: str, lang: str | None, channel: str | None) -> None:
    decision = default().evaluate(text, lang=lang, channel=channel)
    assert isinstance(decision.urgency, Urgency)
    assert decision.score == sum(hit.score for hit in decision.fired)
    for hit in decision.fired:
        assert hit.spans
        for start, end in hit.spans:
            assert 0 <= start < end <= len(text)


danger_words = st.sampled_from(
    "i am not in danger he has a gun no me van a matar estoy en peligro kill "
    "passport took never nobody , . ! ¿ ñ é".split()
)


@settings(max_examples=150, deadline=None)
@given(st.lists(danger_words, max_size=40))
def test_evaluate_on_rule_vocabulary(words: list[str]) -> None:
    text = " ".join(words)
    decision = default().evaluate(text)
    for hit in decision.fired:
        for start, end in hit.spans:
            assert 0 <= start < end <= len(text)
            assert text[start:end].strip() == text[start:end]


def test_lone_surrogates_do_not_break_matching() -> None:
    decision = default().evaluate("I am in danger \udc80 help")
    assert "danger.statement.en" in decision.rule_ids


def test_blank_language_or_channel_counts_as_unknown(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, SCORED)
    assert rules.evaluate("hola stop", lang="", channel=" ").rule_ids == ("sms.only", "spanish.only")
