"""The shipped default pack: it loads (so every example passes) and triages typical texts.

The expected urgencies follow the definitions in PRODUCT.md (``triage_rules.urgency.DEFINITIONS``):
critical needs danger now or within hours; coercion without it is high, however many indicators.
"""

from __future__ import annotations

import pytest

from triage_rules import RuleSet, Urgency, default_pack_dir, load_rules

_PACK: list[RuleSet] = []


def pack() -> RuleSet:
    if not _PACK:
        _PACK.append(load_rules([default_pack_dir()]))
    return _PACK[0]


DANGER_IDS = {
    "danger.immediate.en",
    "danger.statement.en",
    "danger.weapon.en",
    "danger.kill_threat.en",
    "danger.immediate.es",
    "danger.statement.es",
    "danger.weapon.es",
    "danger.kill_threat.es",
}

# Every indicator the issue lists, with the rules that cover it in each language.
INDICATORS = {
    "immediate danger and violence": (
        "danger.immediate",
        "danger.statement",
        "danger.weapon",
        "danger.kill_threat",
    ),
    "minors": ("minor.exploitation", "minor.labour", "minor.involved", "minor.not_in_school"),
    "confiscated documents": ("documents.confiscated",),
    "debt bondage": ("debt.bondage",),
    "confinement and movement control": ("confinement", "control.movement", "control.phone"),
    "threats to family": ("threat.family",),
    "commercial sex under third-party control": ("sex.forced", "earnings.taken"),
    "forced labour conditions": ("labour.forced", "labour.living_at_work", "wages.withheld"),
    "a third party answering for the person": ("third_party.speaks",),
    "not knowing where they are": ("location.unknown",),
}


def test_default_pack_loads_with_both_languages() -> None:
    rules = pack()
    ids = {rule.id for rule in rules.rules}
    assert DANGER_IDS <= ids
    assert {rule.id for rule in rules.rules if "es" in rule.langs} == {i for i in ids if i.endswith(".es")}
    assert [p.name for p in default_pack_dir().glob("*.toml")] != []
    assert rules.version.startswith("rs-")
    assert len(rules.version) == 3 + 16
    assert rules.default_urgency is Urgency.NORMAL
    assert dict(rules.thresholds) == {Urgency.HIGH: 5, Urgency.CRITICAL: 10}


def test_every_indicator_is_covered_in_both_languages() -> None:
    ids = {rule.id for rule in pack().rules}
    for indicator, prefixes in INDICATORS.items():
        for lang in ("en", "es"):
            for prefix in prefixes:
                assert f"{prefix}.{lang}" in ids, (indicator, prefix, lang)


def test_danger_rules_reach_critical_alone_and_never_fall_below_high() -> None:
    # the pack's design: danger rules have a high floor and score the critical threshold;
    # danger.statement ("I am in danger", "URGENT") scores only, so spam and jokes can damp it
    thresholds = dict(pack().thresholds)
    for rule_id in DANGER_IDS:
        rule = pack().rule(rule_id)
        assert rule.score >= thresholds[Urgency.CRITICAL], rule_id
        assert rule.urgency is (None if rule_id.startswith("danger.statement.") else Urgency.HIGH), rule_id
        assert "harm" in rule.tags, rule_id


def test_damping_keeps_a_danger_rule_at_high() -> None:
    # a damping word that is not one of not_live.joke's markers: the danger rule's high floor stays
    decision = pack().evaluate("my brother said he'd kill me if I told mom, kidding", lang="en")
    assert set(decision.rule_ids) == {"danger.kill_threat.en", "context.joke.en"}
    assert decision.urgency is Urgency.HIGH


def test_a_joke_marker_holds_danger_words_at_normal_and_not_live() -> None:
    decision = pack().evaluate("my brother said he'd kill me if I told mom haha", lang="en")
    assert set(decision.rule_ids) == {"danger.kill_threat.en", "context.joke.en", "not_live.joke.en"}
    assert decision.urgency is Urgency.NORMAL
    assert not decision.live  # the reader raises it to high at most


def test_every_default_rule_has_several_examples() -> None:
    for rule in pack().rules:
        assert len(rule.examples.match) >= 4, rule.id
        assert len(rule.examples.no_match) >= 3, rule.id
        assert rule.description, rule.id


@pytest.mark.parametrize(
    ("text", "lang", "urgency", "rule_id"),
    [
        ("He said he is going to kill me if I leave", "en", Urgency.CRITICAL, "danger.kill_threat.en"),
        ("pls help, my boss has a gun", "en", Urgency.CRITICAL, "danger.weapon.en"),
        ("I'm in danger, please help me", "en", Urgency.CRITICAL, "danger.statement.en"),
        ("he is beating me right now", "en", Urgency.CRITICAL, "danger.immediate.en"),
        ("they lock us in at night and we cant leave", "en", Urgency.CRITICAL, "confinement.en"),
        ("I can't leave until the debt is paid", "en", Urgency.HIGH, "confinement.en"),
        ("The agency took our passports", "en", Urgency.HIGH, "documents.confiscated.en"),
        ("i owe them money and the debt keeps growing", "en", Urgency.HIGH, "debt.bondage.en"),
        ("there are kids living in the house", "en", Urgency.NORMAL, "minor.involved.en"),
        ("a 15 yo girl is working at the bar", "en", Urgency.HIGH, "minor.exploitation.en"),
        ("a 15 yo girl at the bar, men take her upstairs", "en", Urgency.CRITICAL, "minor.sex.en"),
        ("they threaten to call immigration on us", "en", Urgency.HIGH, "threat.family.en"),
        ("they make the girls see customers", "en", Urgency.HIGH, "sex.forced.en"),
        ("we work 12 hours and they don't pay us", "en", Urgency.HIGH, "wages.withheld.en"),
        ("they watch us all the time", "en", Urgency.HIGH, "control.movement.en"),
        ("a man always answers for her at the clinic", "en", Urgency.HIGH, "third_party.speaks.en"),
        ("i dont know where i am, they moved us", "en", Urgency.HIGH, "location.unknown.en"),
        ("we work 16 hours a day, 7 days a week", "en", Urgency.HIGH, "labour.forced.en"),
        ("I read a news article about trafficking", "en", Urgency.LOW, "context.media.en"),
        ("my boss took my phone", "en", Urgency.HIGH, "control.phone.en"),
        ("Si no pago me van a matar", "es", Urgency.CRITICAL, "danger.kill_threat.es"),
        ("El patrón tiene un arma", "es", Urgency.CRITICAL, "danger.weapon.es"),
        ("Ayúdenme, estoy en peligro", "es", Urgency.CRITICAL, "danger.statement.es"),
        ("mi patrón me está golpeando", "es", Urgency.CRITICAL, "danger.immediate.es"),
        ("No me dejan salir de la casa", "es", Urgency.HIGH, "confinement.es"),
        ("nos tienen encerrados en la casa", "es", Urgency.CRITICAL, "confinement.locked_now.es"),
        ("me quitaron el pasaporte", "es", Urgency.HIGH, "documents.confiscated.es"),
        ("Debo dinero al patrón", "es", Urgency.HIGH, "debt.bondage.es"),
        ("hay una menor de edad en la casa", "es", Urgency.NORMAL, "minor.involved.es"),
        ("obligan a niñas a atender clientes", "es", Urgency.CRITICAL, "minor.exploitation.es"),
        ("amenazan a mi familia si hablo", "es", Urgency.HIGH, "threat.family.es"),
        ("me obligan a tener sexo con clientes", "es", Urgency.HIGH, "sex.forced.es"),
        ("trabajamos y no nos pagan", "es", Urgency.HIGH, "wages.withheld.es"),
        ("nos vigilan todo el tiempo", "es", Urgency.HIGH, "control.movement.es"),
        ("un hombre habla por ella y no la deja hablar", "es", Urgency.HIGH, "third_party.speaks.es"),
        ("no sé dónde estoy, nos cambian de casa", "es", Urgency.HIGH, "location.unknown.es"),
        ("trabajamos 16 horas al día sin descanso", "es", Urgency.HIGH, "labour.forced.es"),
        ("Leí una noticia sobre la trata", "es", Urgency.LOW, "context.media.es"),
        ("me quitaron el celular", "es", Urgency.HIGH, "control.phone.es"),
    ],
)
def test_typical_texts(text: str, lang: str, urgency: Urgency, rule_id: str) -> None:
    for given in (lang, None):
        decision = pack().evaluate(text, lang=given)
        assert decision.urgency is urgency, (text, given, decision)
        assert rule_id in decision.rule_ids
        assert decision.ruleset_version == pack().version


@pytest.mark.parametrize(
    "text",
    [
        "I am not in danger",
        "I'm not in danger, I just have a question",
        "no one has hurt me",
        "Nobody has a gun here",
        "He is not going to kill me",
        "no estoy en peligro",
        "No estoy en peligro, solo quiero información",
        "nadie tiene armas aquí",
        "no me van a matar",
        "ya no me pegan",
    ],
)
def test_negated_danger_does_not_fire(text: str) -> None:
    decision = pack().evaluate(text)
    assert not DANGER_IDS & set(decision.rule_ids), decision
    # normal, or low when the rest is a request for information
    assert decision.urgency in (Urgency.NORMAL, Urgency.LOW)


@pytest.mark.parametrize(
    "text", ["", "   ", "🙂🙂🙂", "I have a question about my visa", "Hola, ¿cómo están?"]
)
def test_ordinary_texts_get_the_default(text: str) -> None:
    decision = pack().evaluate(text)
    assert decision.urgency is Urgency.NORMAL
    assert decision.fired == ()
    assert decision.score == 0


@pytest.mark.parametrize(
    ("text", "rule_id"),
    [
        ("Hello, I would like some information about your services", "context.info.en"),
        ("Hola, quisiera información sobre sus servicios", "context.info.es"),
        ("How can I volunteer with your organization?", "context.research.en"),
        ("test", "context.info.en"),
    ],
)
def test_general_questions_are_low(text: str, rule_id: str) -> None:
    decision = pack().evaluate(text)
    assert decision.urgency is Urgency.LOW
    assert rule_id in decision.rule_ids


def test_coercion_indicators_do_not_add_up_to_critical() -> None:
    # high: "ongoing exploitation or coercion with no sign of immediate danger", however many signs
    text = "They took my passport, I owe them money, they keep my wages and threaten to call immigration"
    decision = pack().evaluate(text, lang="en")
    assert decision.urgency is Urgency.HIGH
    assert {"documents.confiscated.en", "debt.bondage.en", "wages.withheld.en"} <= set(decision.rule_ids)
    assert decision.basis is not None and decision.basis.step == "floor"


def test_being_locked_in_now_is_critical_alone() -> None:
    decision = pack().evaluate("They took my passport and they lock me in", lang="en")
    assert decision.urgency is Urgency.CRITICAL
    assert "confinement.locked_now.en" in decision.rule_ids


def test_language_condition() -> None:
    spanish = "me van a matar"
    assert pack().evaluate(spanish, lang="es").urgency is Urgency.CRITICAL
    assert pack().evaluate(spanish, lang="es-MX").urgency is Urgency.CRITICAL
    assert pack().evaluate(spanish, lang=None).urgency is Urgency.CRITICAL
    assert pack().evaluate(spanish, lang="en").fired == ()


def test_spans_point_into_the_original_text() -> None:
    text = "Please…  I’m IN   DANGER!!"
    decision = pack().evaluate(text, lang="en")
    hit = decision.fired[0]
    assert hit.rule_id == "danger.statement.en"
    assert [text[start:end] for start, end in hit.spans] == ["IN   DANGER"]


def test_sms_shorthand_and_misspellings() -> None:
    assert "danger.kill_threat.en" in pack().evaluate("hes gonna kill me plz").rule_ids
    assert "danger.kill_threat.es" in pack().evaluate("me kieren matar xfa ayuda").rule_ids
    assert "confinement.en" in pack().evaluate("they wont let me leave").rule_ids


def test_explain_traces_every_rule() -> None:
    explanation = pack().explain("I am not in danger", lang="en")
    assert len(explanation.traces) == len(pack().rules)
    danger = next(t for t in explanation.traces if t.rule_id == "danger.statement.en")
    assert danger.applies and not danger.fired
    assert danger.negated == ((9, 18),)
    spanish = next(t for t in explanation.traces if t.rule_id == "danger.statement.es")
    assert not spanish.applies


# The eighth blind set's classes (new wordings, not its messages): en and es, with and without accents.

@pytest.mark.parametrize(("text", "lang"), [
    ("Nobody here is in danger, this isn't a report. Who can send me your yearly figures?", "en"),
    ("To be clear no one is in danger right now, I'm asking for a school project", "en"),
    ("Nadie aquí está en peligro, no es una denuncia. ¿A quién pido las cifras?", "es"),
    ("nadie aqui esta en peligro ahora mismo, no es una emergencia, es para un trabajo", "es"),
])
def test_a_denial_before_danger_words_is_not_critical(text: str, lang: str) -> None:
    decision = pack().evaluate(text, lang=lang)
    assert decision.urgency in (Urgency.LOW, Urgency.NORMAL)
    assert any(rule_id.startswith("denial.") for rule_id in decision.rule_ids)


@pytest.mark.parametrize(("text", "lang"), [
    ("im live right now and chat dared me to say im being held hostage by my dog, ha ha, bye", "en"),
    ("this is a prank call, they locked me in the bathroom right now", "en"),
    ("estoy en directo ahora mismo y me retaron a decir que mi perro me tiene secuestrado, adiós", "es"),
    ("es una bromita, mi primo me tiene encerrado en el baño esta noche", "es"),
])
def test_a_dare_or_prank_is_a_joke(text: str, lang: str) -> None:
    decision = pack().evaluate(text, lang=lang)
    assert decision.urgency is not Urgency.CRITICAL
    assert f"not_live.joke.{lang}" in decision.rule_ids
    assert not decision.live


@pytest.mark.parametrize(("text", "lang"), [
    ("my 13 yo nephew sells gum on the bus 9 hours a day, a man keeps all the money, he is not in school",
     "en"),
    ("mi sobrino de 13 años vende chicles en el bus todo el día, un señor se queda con todo el dinero, "
     "no va a la escuela",
     "es"),
])
def test_a_minor_exploited_with_no_harm_under_way_is_high(text: str, lang: str) -> None:
    assert pack().evaluate(text, lang=lang).urgency is Urgency.HIGH


@pytest.mark.parametrize(("text", "lang"), [
    ("he keeps posting my ads and takes the money, says he will hurt me if i stop. im home safe tonight",
     "en"),
    ("sigue publicando mis anuncios y se queda el dinero, dice que me va a golpear. "
     "ya estoy en casa a salvo esta noche",
     "es"),
])
def test_home_safe_tonight_is_a_statement_of_safety(text: str, lang: str) -> None:
    decision = pack().evaluate(text, lang=lang)
    assert decision.urgency is not Urgency.CRITICAL  # "tonight" is the statement's, not danger's
    assert {"safety.home_safe.en", "safety.okay_now.es"} & set(decision.rule_ids)


@pytest.mark.parametrize(("text", "lang"), [
    ("Two years ago they got me out of that farm. Tonight I have everything ready so I don't wake up "
     "tomorrow", "en"),
    ("Hace dos años me sacaron de esa finca. Esta noche ya tengo todo listo para no despertar mañana", "es"),
    ("hace dos anos me sacaron de ahi. esta noche tengo todo listo para no volver a despertar", "es"),
])
def test_an_intent_to_die_in_a_euphemism_is_critical_after_a_past_clause(text: str, lang: str) -> None:
    decision = pack().evaluate(text, lang=lang)
    assert decision.urgency is Urgency.CRITICAL
    assert f"selfharm.intent.{lang}" in decision.rule_ids
