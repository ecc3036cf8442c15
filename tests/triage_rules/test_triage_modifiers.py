"""Modifiers (time and presence raise, distance lowers), tags, and the basis of a decision.

The rule-language half uses small rule files written here; the pack half runs the default
packs on short texts of each failure class of issue 15, in English and Spanish (written for
these tests, not copied from any corpus).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage_rules import Hit, RuleSet, RulesLoadError, Urgency, default_pack_dir, load_rules
from triage_rules.scorer import Modifier, score_hits, urgency_and_score
from triage_rules.urgency import DEFINITIONS

HARM = """
[[rule]]
id = "harm.assault"
tags = ["harm"]
urgency = "high"
phrases = ["beating him", "hit me"]
[rule.examples]
match = ["they are beating him"]

[[rule]]
id = "coercion.passport"
tags = ["coercion"]
urgency = "high"
phrases = ["took my passport"]
[rule.examples]
match = ["they took my passport"]

[[rule]]
id = "signal.plea"
score = 2
phrases = ["help"]
[rule.examples]
match = ["help"]

[[rule]]
id = "damp.joke"
urgency = "low"
score = -10
phrases = ["lol"]
[rule.examples]
match = ["lol"]
"""

NOW = """
[[rule]]
id = "time.now"
modifier = "raise"
to = "critical"
acts_on = ["harm"]
phrases = ["right now", "tonight"]
unless = ["not"]
[rule.examples]
match = ["right now"]
no_match = ["not right now"]
"""

PAST = """
[[rule]]
id = "distance.past"
modifier = "lower"
to = "normal"
acts_on = ["harm", "coercion"]
phrases = ["years ago"]
[rule.examples]
match = ["years ago"]
"""


def rules_from(tmp_path: Path, *texts: str) -> RuleSet:
    path = tmp_path / "rules.toml"
    path.write_text("\n".join(texts), encoding="utf-8")
    return load_rules([path])


def test_a_raise_lifts_the_rules_it_acts_on(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, HARM, NOW)
    decision = rules.evaluate("they are beating him right now")
    assert decision.urgency is Urgency.CRITICAL
    assert decision.basis is not None and decision.basis.step == "raised"
    assert decision.basis.rules == ("time.now", "harm.assault")
    assert decision.basis.base is Urgency.HIGH
    # the same decision without spans
    assert rules.evaluate("they are beating him right now", spans=False).urgency is Urgency.CRITICAL


def test_a_raise_never_acts_alone_or_on_other_tags(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, HARM, NOW)
    alone = rules.evaluate("see you tonight")
    assert alone.urgency is Urgency.NORMAL and alone.rule_ids == ("time.now",)
    assert alone.basis is not None and alone.basis.step == "default"
    assert rules.evaluate("they took my passport tonight").urgency is Urgency.HIGH
    # its own negation cues still apply
    assert rules.evaluate("they are beating him, not right now").urgency is Urgency.HIGH


def test_a_raise_with_from_needs_that_base(tmp_path: Path) -> None:
    gated = NOW.replace('to = "critical"', 'to = "critical"\nfrom = "high"').replace(
        'acts_on = ["harm"]', 'acts_on = ["harm", "coercion"]'
    )
    rules = rules_from(tmp_path, HARM, gated)
    assert rules.evaluate("they are beating him right now").urgency is Urgency.CRITICAL
    # a joke takes the base down to low through the score? no: harm.assault's floor is high;
    # a score-only signal under the threshold gives no base at or above high
    signal_only = HARM.replace('tags = ["harm"]\nurgency = "high"', 'tags = ["harm"]\nscore = 1')
    rules = rules_from(tmp_path, signal_only, gated)
    decision = rules.evaluate("they are beating him right now")
    assert decision.urgency is Urgency.NORMAL
    assert "time.now" in decision.rule_ids


def test_a_lower_caps_only_the_rules_it_names(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, HARM, PAST)
    past = rules.evaluate("years ago they were beating him")
    assert past.urgency is Urgency.NORMAL
    assert past.basis is not None and past.basis.step == "lowered"
    assert past.basis.base is Urgency.HIGH
    # a rule without a named tag keeps what it gives alone
    untouched = HARM.replace('id = "signal.plea"\nscore = 2', 'id = "signal.plea"\nurgency = "high"')
    rules = rules_from(tmp_path, untouched, PAST)
    assert rules.evaluate("years ago they were beating him, help").urgency is Urgency.HIGH


def test_presence_beats_distance(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, HARM, NOW, PAST)
    decision = rules.evaluate("he hit me years ago and right now they are beating him")
    assert decision.urgency is Urgency.CRITICAL
    assert decision.basis is not None and decision.basis.step == "raised"


STORY = """
[[rule]]
id = "not_live.story"
modifier = "lower"
to = "normal"
final = true
acts_on = ["harm"]
phrases = ["writing a novel", "role play"]
unless = ["not"]
[rule.examples]
match = ["writing a novel"]
no_match = ["this is not a role play"]
"""


def test_a_final_lower_stops_every_raise(tmp_path: Path) -> None:
    """A story's "tonight" is the story's: a ``final`` lower is not overridden by presence."""
    rules = rules_from(tmp_path, HARM, NOW, PAST, STORY)
    text = "I am writing a novel where they are beating him right now"
    for spans in (True, False):
        decision = rules.evaluate(text, spans=spans)
        assert decision.urgency is Urgency.NORMAL, decision.rule_ids
    basis = rules.evaluate(text).basis
    assert basis is not None and basis.step == "lowered" and basis.base is Urgency.HIGH
    assert "not_live.story" in basis.rules
    # without the final lower, presence beats distance as before; a negated one does not act
    for live in ("years ago he hit me and right now they are beating him",
                 "this is not a role play, they are beating him right now"):
        assert rules.evaluate(live).urgency is Urgency.CRITICAL, live
    # the same rule without final is an ordinary lower: the raise wins
    plain = rules_from(tmp_path, HARM, NOW, STORY.replace("final = true\n", ""))
    assert plain.evaluate(text).urgency is Urgency.CRITICAL


def test_modifiers_add_no_score(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, HARM, NOW, PAST)
    assert rules.evaluate("help right now years ago").score == 2


def test_the_basis_names_the_definition(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, HARM, NOW)
    for text, urgency, step in [
        ("they are beating him right now", Urgency.CRITICAL, "raised"),
        ("they took my passport", Urgency.HIGH, "floor"),
        ("nothing here", Urgency.NORMAL, "default"),
        ("lol", Urgency.LOW, "floor"),
    ]:
        basis = rules.evaluate(text).basis
        assert basis is not None and basis.urgency is urgency and basis.step == step, text
        assert basis.definition == DEFINITIONS[urgency]
        assert basis.describe().startswith(f"{urgency}: {DEFINITIONS[urgency]}")
        assert basis.to_json()["definition"] == DEFINITIONS[urgency]
    assert set(DEFINITIONS) == set(Urgency)


def test_explain_and_evaluate_agree_with_modifiers(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, HARM, NOW, PAST)
    for text in ["he hit me years ago", "they are beating him right now", "tonight", "years ago, help"]:
        explained = rules.explain(text).decision
        for spans in (True, False):
            evaluated = rules.evaluate(text, spans=spans)
            assert (evaluated.urgency, evaluated.rule_ids, evaluated.basis) == (
                explained.urgency,
                explained.rule_ids,
                explained.basis,
            ), text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('modifier = "raise"\nto = "critical"\nurgency = "high"', "a modifier has no urgency"),
        ('modifier = "raise"\nto = "critical"\nscore = 3', "a modifier has no score"),
        ('modifier = "raise"', "needs to = the urgency"),
        ('modifier = "upgrade"\nto = "critical"', 'modifier must be "raise" or "lower"'),
        ('modifier = "lower"\nto = "urgent"', "unknown urgency 'urgent'"),
        ('urgency = "high"\nto = "critical"', "to is only for modifiers"),
        ('urgency = "high"\nacts_on = ["harm"]', "acts_on is only for modifiers"),
        ('urgency = "high"\nfrom = "high"', "from is only for modifiers"),
        ('urgency = "high"\nfinal = true', "final is only for modifiers"),
        ('modifier = "raise"\nto = "critical"\nfinal = true', "final is only for a lower modifier"),
        ('modifier = "lower"\nto = "normal"\nfinal = "yes"', "final must be true or false"),
        ('modifier = "raise"\nto = "critical"\ntags = ["harm"]', "a modifier has no tags"),
        ('urgency = "high"\ntags = ["Harm!"]', "tag 'Harm!' must be"),
        (
            'modifier = "raise"\nto = "critical"\nacts_on = ["hram"]',
            "acts_on names tag 'hram', which no rule has",
        ),
    ],
)
def test_modifier_mistakes_are_load_errors(tmp_path: Path, extra: str, message: str) -> None:
    rule = f"""
[[rule]]
id = "tagged"
tags = ["harm"]
urgency = "high"
phrases = ["beating"]
[rule.examples]
match = ["beating"]

[[rule]]
id = "bad.rule"
phrases = ["tonight"]
{extra}
[rule.examples]
match = ["tonight"]
"""
    with pytest.raises(RulesLoadError) as caught:
        rules_from(tmp_path, rule)
    assert message in str(caught.value)
    assert "rules.toml:" in str(caught.value)


# -- the default packs, one small example per class -----------------------------------------------

_PACK: list[RuleSet] = []


def pack() -> RuleSet:
    if not _PACK:
        _PACK.append(load_rules([default_pack_dir()]))
    return _PACK[0]


@pytest.mark.parametrize(
    ("text", "lang", "urgency"),
    [
        # 1. immediacy: time and presence lift harm
        ("two guys are hitting a worker in the yard rn", "en", Urgency.CRITICAL),
        ("they said they will move all of us tonight to another state", "en", Urgency.CRITICAL),
        ("le están pegando a mi compañera ahorita en la cocina", "es", Urgency.CRITICAL),
        ("esta noche nos llevan a otro estado, tengo miedo", "es", Urgency.CRITICAL),
        # 2. self-harm
        ("i cant take this anymore, going to kill myself tonight", "en", Urgency.CRITICAL),
        ("ya no quiero vivir, me voy a tirar del puente", "es", Urgency.CRITICAL),
        ("my job is killing me lol, do you have info on overtime laws", "en", Urgency.LOW),
        # 3. distance: old facts are not an emergency
        ("ten years ago they locked me in at a farm. I'm safe now and want counseling", "en", Urgency.NORMAL),
        ("hace cinco años me golpeaban en el rancho, ya estoy a salvo, busco terapia", "es", Urgency.NORMAL),
        # 4. negation
        ("nobody is hurting me and nobody locked me in, I just want to know my rights", "en", Urgency.NORMAL),
        ("nadie me tiene encerrada ni me pega, solo quiero información", "es", Urgency.LOW),
        # 5. emergencies in plain words
        ("my coworker collapsed and is not breathing, the boss won't call anyone", "en", Urgency.CRITICAL),
        ("un hombre metió a una muchacha a la fuerza en una camioneta ahorita", "es", Urgency.CRITICAL),
        ("what do I do if he comes back in 30 minutes", "en", Urgency.CRITICAL),
        # 6. spam and phishing
        ("Your account has been suspended. Verify now at login-secure[.]example", "en", Urgency.LOW),
        ("Ganaste un premio! Ingrese sus datos aquí para reclamarlo", "es", Urgency.LOW),
        # 7. coercion without immediate danger stays high
        ("the boss keeps our passports and says we owe him for the trip", "en", Urgency.HIGH),
        ("el patrón dice que si renuncio me deportan y no me paga desde enero", "es", Urgency.HIGH),
        # not a live report: a story or an exercise, whatever its "tonight" (final lower)
        ("I'm writing a thriller where a girl is locked in a truck and moved tonight", "en", Urgency.NORMAL),
        ("for our role play I'm the caller and my boss is beating me right now", "en", Urgency.NORMAL),
        ("es un simulacro: a una muchacha la tienen encerrada y se la llevan esta noche", "es",
         Urgency.NORMAL),
        ("this is not a role play, they are beating my sister right now", "en", Urgency.CRITICAL),
        ("no es un simulacro, nos tienen encerradas y esta noche nos llevan", "es", Urgency.CRITICAL),
    ],
)
def test_each_class_in_both_languages(text: str, lang: str, urgency: Urgency) -> None:
    for known in (lang, None):
        decision = pack().evaluate(text, lang=known)
        assert decision.urgency is urgency, (text, known, decision.rule_ids, decision.basis)


# -- the one-pass scorer agrees with the full one ---------------------------------------------------

_URGENCIES = st.sampled_from(list(Urgency))
_MODIFIERS = st.none() | st.builds(
    Modifier,
    st.sampled_from(["raise", "lower"]),
    _URGENCIES,
    st.frozensets(st.sampled_from(["harm", "coercion"]), max_size=2),
    st.none() | _URGENCIES,
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
_HITS = st.lists(
    st.builds(
        Hit,
        st.sampled_from(["a", "b", "c", "d"]),
        st.none() | _URGENCIES,
        st.integers(-20, 20),
        st.just(()),
        st.frozensets(st.sampled_from(["harm", "coercion", "signal"]), max_size=2),
        _MODIFIERS,
        st.none() | st.sampled_from([Urgency.LOW, Urgency.NORMAL, Urgency.HIGH]),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(hits=_HITS, default=_URGENCIES, high=st.integers(1, 10), gap=st.integers(1, 10))
def test_the_fast_scorer_agrees_with_the_full_one(
    hits: list[Hit], default: Urgency, high: int, gap: int
) -> None:
    thresholds = ((Urgency.HIGH, high), (Urgency.CRITICAL, high + gap))
    fired = tuple(hits)
    urgency, score, basis = score_hits(fired, thresholds, default)
    assert urgency_and_score(fired, thresholds, default) == (urgency, score)
    assert basis.urgency is urgency
