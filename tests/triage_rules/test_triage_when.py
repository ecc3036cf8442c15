"""When a time word counts: ``holds`` and ``yields`` in the rule language, and the default
packs on the classes the seventh blind set failed (a bystander telling what happens now, a
presence word beside a past time, a statement of safety beside a time word, despair without
a means), in English and Spanish, with and without accents and texting shorthand.

The pack texts are written for these tests, not copied from any corpus.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from tests.helpers.process import run_cli
from triage_rules import RuleSet, RulesLoadError, Urgency, default_pack_dir, load_rules
from triage_rules.reader import load_reader
from triage_rules.scorer import Modifier
from triage_rules.triage import triage

C, H, N, L = Urgency.CRITICAL, Urgency.HIGH, Urgency.NORMAL, Urgency.LOW

HARM = """
[[rule]]
id = "harm.locked"
tags = ["harm"]
urgency = "high"
phrases = ["locked him in", "beating him"]
[rule.examples]
match = ["they locked him in"]

[[rule]]
id = "context.question"
tags = ["context"]
urgency = "low"
phrases = ["i am a nurse"]
[rule.examples]
match = ["i am a nurse"]

[[rule]]
id = "time.now"
modifier = "raise"
to = "critical"
acts_on = ["harm"]
phrases = ["right now", "tonight"]
[rule.examples]
match = ["right now"]

[[rule]]
id = "presence.now"
modifier = "raise"
to = "critical"
acts_on = ["harm"]
yields = true
phrases = ["is here now"]
[rule.examples]
match = ["he is here now"]

[[rule]]
id = "distance.past"
modifier = "lower"
to = "normal"
acts_on = ["harm"]
phrases = ["years ago"]
[rule.examples]
match = ["years ago"]

[[rule]]
id = "safety.okay"
modifier = "lower"
to = "high"
acts_on = ["harm"]
holds = true
phrases = ["i am okay"]
[rule.examples]
match = ["i am okay"]

[[rule]]
id = "floor.now"
modifier = "raise"
to = "normal"
acts_on = ["context"]
phrases = ["right now"]
[rule.examples]
match = ["right now"]
"""


def rules_from(tmp_path: Path, text: str) -> RuleSet:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return load_rules([path])


def test_a_presence_word_yields_to_a_past_time_but_not_alone(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, HARM)
    assert rules.evaluate("they locked him in, he is here now").urgency is C
    past = rules.evaluate("years ago they locked him in, he is here now")
    assert past.urgency is N and past.basis is not None and past.basis.step == "lowered"
    # a time word does not yield: it still beats distance
    assert rules.evaluate("years ago they locked him in, right now they are beating him").urgency is C


def test_a_statement_of_safety_holds_against_every_raise_and_stays_live(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, HARM)
    for spans in (True, False):
        held = rules.evaluate("they locked him in before. i am okay right now", spans=spans)
        assert held.urgency is H, held.rule_ids
        assert held.live  # not a `final`: the second reader may still raise it
    basis = rules.evaluate("they locked him in before. i am okay right now").basis
    assert basis is not None and basis.step == "held" and basis.base is C
    assert basis.rules == ("safety.okay", "time.now")
    assert "held by safety.okay, time.now: no raise to critical" in basis.describe()
    # without it the time word raises as before
    assert rules.evaluate("they locked him in before. right now").urgency is C


def test_a_raise_to_normal_floors_a_context_rules_low(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, HARM)
    assert rules.evaluate("i am a nurse").urgency is L
    lifted = rules.evaluate("i am a nurse and right now a girl needs help")
    assert lifted.urgency is N and lifted.basis is not None and lifted.basis.step == "raised"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('modifier = "raise"\nto = "critical"\nholds = true', "holds is only for a lower modifier"),
        ('modifier = "lower"\nto = "high"\nyields = true', "yields is only for a raise modifier"),
        ('modifier = "lower"\nto = "high"\nholds = "yes"', "holds must be true or false"),
        ('modifier = "raise"\nto = "critical"\nyields = 1', "yields must be true or false"),
        ('urgency = "high"\nholds = true', "holds is only for modifiers"),
        ('urgency = "high"\nyields = true', "yields is only for modifiers"),
    ],
)
def test_holds_and_yields_mistakes_are_load_errors(tmp_path: Path, extra: str, message: str) -> None:
    text = HARM + f"""
[[rule]]
id = "bad.rule"
{extra}
phrases = ["whatever"]
[rule.examples]
match = ["whatever"]
"""
    with pytest.raises(RulesLoadError) as caught:
        rules_from(tmp_path, text)
    assert message in str(caught.value)


def test_explain_shows_holds_and_yields() -> None:
    assert "holds: no raise overrides it" in Modifier("lower", H, holds=True).describe()
    assert "yields: not when a lower modifier acts" in Modifier("raise", C, yields=True).describe()
    text = "they make us steal and keep our passports. I'm okay right now, I'm at the laundromat"
    shown = run_cli("rules", "explain", "--no-reader", text).stdout
    shown_line = "safety.okay_now.en (modifier: lower to high on harm, sexual, holds: no raise overrides it)"
    assert shown_line in shown


# -- the default packs -------------------------------------------------------------------------


@cache
def pack() -> RuleSet:
    return load_rules([default_pack_dir()])


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("I'm a pharmacist, there's a man at my register right now with a girl who looks about twelve, "
         "they're about to walk out", "en"),
        ("I volunteer at the shelter and a woman just told me the man outside is taking her to his "
         "clients tonight", "en"),
        ("soy enfermera de visita y la muchacha que cuida a la señora me enseñó los moretones, esta "
         "noche la mandan con los amigos del hijo", "es"),
        ("soy voluntaria en el comedor y orita hay un señor afuera esperando a la chava pa llevarsela", "es"),
    ],
)
def test_a_bystander_telling_of_danger_now_is_never_low(text: str, lang: str) -> None:
    decision = pack().evaluate(text, lang=lang)
    assert decision.urgency >= N, (decision.rule_ids, decision.basis)
    assert decision.live  # the reader may raise it


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("three years ago they locked my brother in a barn and beat him, he came back and he is here "
         "now with us, can we still report them", "en"),
        ("hace tres años a mi hermano lo tuvieron encerrado en un rancho y lo golpeaban, ya regresó, "
         "está aquí con nosotros, todavía se puede denunciar", "es"),
        ("hace 3 anos lo tenian encerrado en un rancho y lo golpeaban, ya regreso, esta aqui con "
         "nosotros", "es"),
    ],
)
def test_a_past_time_beats_a_presence_word(text: str, lang: str) -> None:
    decision = pack().evaluate(text, lang=lang)
    assert decision.urgency < C, (decision.rule_ids, decision.basis)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("they make us steal every day and keep our passports. I'm okay right now, I'm at the "
         "laundromat", "en"),
        ("my madam says the oath will kill my family, I am not in danger now, I'm at the shop", "en"),
        ("He's not violent. He takes all the money from my dates and holds my ID. I'm okay today.", "en"),
        ("nos obligan a robar y tienen nuestros pasaportes, ahorita estoy bien, estoy en la "
         "lavandería", "es"),
        ("el patrón nos quitó los pasaportes y dice que al que se vaya lo busca. Nadie ha sido "
         "golpeado, pero ahorita tenemos miedo", "es"),
    ],
)
def test_a_statement_of_safety_is_not_danger_now(text: str, lang: str) -> None:
    decision = pack().evaluate(text, lang=lang)
    assert decision.urgency is H, (decision.rule_ids, decision.basis)


@pytest.mark.parametrize(
    ("text", "lang", "urgency"),
    [
        ("I can't do this anymore, they never let us rest and never pay us", "en", H),
        ("i cant do this anymore i have the pills in my hand", "en", C),
        ("I can't go on, tonight I end it", "en", C),
        ("ya no puedo más con esta deuda, el patrón no nos paga", "es", H),
        ("ya no puedo mas tengo las pastillas en la mano", "es", C),
        ("ya no aguanto mas, esta noche me tiro del puente", "es", C),
    ],
)
def test_despair_without_a_means_or_a_time_is_not_critical(text: str, lang: str, urgency: Urgency) -> None:
    decision = pack().evaluate(text, lang=lang)
    assert decision.urgency is urgency, (decision.rule_ids, decision.basis)


@pytest.mark.parametrize(
    "text",
    ["le están pegando ahorita mismo", "le estan pegando orita", "orita m estan pegando",
     "a las 4am nos sacan d la casa y nos encierran en la camioneta"],
)
def test_spanish_time_words_with_and_without_accents_and_shorthand(text: str) -> None:
    decision = pack().evaluate(text, lang="es")
    assert decision.urgency is C, (decision.rule_ids, decision.basis)


def test_the_reader_may_raise_a_bystanders_report_the_rules_floor_at_normal() -> None:
    text = ("I'm a pharmacist, there's a man at my register right now buying Plan B with a girl who "
            "looks twelve in a school uniform, he says she's his wife, they're about to walk out")
    both = triage(pack(), load_reader(), text, lang="en")
    assert both.rules_urgency is N
    assert both.urgency >= both.rules_urgency  # the reader is consulted (not low) and only raises


@pytest.mark.parametrize(
    ("text", "lang", "urgency"),
    [
        ("my coworker is gonna kill me, I ate his lunch. sorry meant to text my wife", "en", N),
        ("my mom will kill me, I forgot her birthday", "en", N),
        ("mi roomie dice que me mata si me como su yogur otra vez", "es", N),
        ("me mata la espalda después de este turno doble", "es", N),
        ("he said he'll kill me if I leave the farm tonight", "en", C),
        ("dice que me mata esta noche si me voy del rancho", "es", C),
    ],
)
def test_a_figure_of_speech_is_not_a_threat(text: str, lang: str, urgency: Urgency) -> None:
    decision = pack().evaluate(text, lang=lang)
    assert decision.urgency <= urgency if urgency is N else decision.urgency is urgency, (
        decision.rule_ids, decision.basis)
    if urgency is N:
        assert not decision.live  # the reader raises it to high at most


@pytest.mark.parametrize(
    ("text", "lang", "low"),
    [
        ("hello?", "en", True),
        ("hola?", "es", True),
        ("hello? they locked us in the van, help", "en", False),
        ("hola? nos tienen encerradas, ayuda", "es", False),
    ],
)
def test_a_greeting_alone_is_low_a_greeting_with_a_report_is_not(text: str, lang: str, low: bool) -> None:
    decision = pack().evaluate(text, lang=lang)
    assert (decision.urgency is L) is low, (decision.rule_ids, decision.basis)
