"""``cap``: a rule that says a text is not a live emergency holds the rules below critical.

The rules' false criticals on every blind set came through two paths: a danger rule's
score (a film crew's "screaming", an escape room's "kidnapped") and a time word's raise
(a phishing text's "tonight", a past story's "still there"). A rule with ``cap`` (a
question, a past story, spam, research) holds both; a rule's own urgency floor stands, and
the text stays "live" for the second reader. The rule-language half uses small rule files
written here; the pack half runs the default packs on texts written for these tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from triage_rules import RuleSet, RulesLoadError, Urgency, default_pack_dir, load_rules

RULES = """
[pack.thresholds]
high = 5
critical = 10

[[rule]]
id = "harm.beating"
tags = ["harm"]
urgency = "high"
score = 10
phrases = ["beating him"]
[rule.examples]
match = ["they are beating him"]

[[rule]]
id = "harm.moving"
tags = ["harm"]
urgency = "high"
phrases = ["moving us"]
[rule.examples]
match = ["they are moving us"]

[[rule]]
id = "selfharm.intent"
tags = ["self-harm"]
urgency = "critical"
phrases = ["end it"]
[rule.examples]
match = ["tonight i end it"]

[[rule]]
id = "time.now"
modifier = "raise"
to = "critical"
acts_on = ["harm"]
phrases = ["tonight", "right now"]
[rule.examples]
match = ["tonight"]

[[rule]]
id = "context.film"
cap = "high"
urgency = "low"
phrases = ["film crew"]
[rule.examples]
match = ["our film crew"]

[[rule]]
id = "distance.past"
modifier = "lower"
to = "normal"
acts_on = ["harm"]
cap = "high"
phrases = ["years ago"]
[rule.examples]
match = ["years ago"]
"""


def rules_from(tmp_path: Path, text: str) -> RuleSet:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return load_rules([path])


def test_a_cap_holds_the_summed_score(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, RULES)
    assert rules.evaluate("they are beating him").urgency is Urgency.CRITICAL
    for spans in (True, False):
        decision = rules.evaluate("our film crew: they are beating him", spans=spans)
        assert decision.urgency is Urgency.HIGH, decision.rule_ids
    basis = rules.evaluate("our film crew: they are beating him").basis
    assert basis is not None and basis.step == "capped" and basis.base is Urgency.CRITICAL
    assert basis.rules == ("context.film",)
    assert "capped from critical by context.film" in basis.describe()


def test_a_cap_holds_a_raise_even_one_that_beats_distance(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, RULES)
    assert rules.evaluate("they are moving us tonight").urgency is Urgency.CRITICAL
    assert rules.evaluate("film crew: they are moving us tonight").urgency is Urgency.HIGH
    # a modifier's cap holds too: the past story's "tonight" pages no one by the rules alone
    assert rules.evaluate("years ago they were moving us, he is there tonight").urgency is Urgency.HIGH


def test_a_cap_never_lowers_a_rules_own_floor_nor_raises(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, RULES)
    decision = rules.evaluate("i got out years ago, tonight i end it")
    assert decision.urgency is Urgency.CRITICAL
    assert decision.basis is not None and decision.basis.step != "capped"
    assert rules.evaluate("our film crew").urgency is Urgency.LOW  # a cap only holds


def test_a_capped_text_stays_live_for_the_reader(tmp_path: Path) -> None:
    decision = rules_from(tmp_path, RULES).evaluate("film crew: they are beating him")
    assert decision.live  # not a `final`: the second reader may still raise it


def test_a_rule_may_give_only_a_cap(tmp_path: Path) -> None:
    """A cap-only rule (no urgency, no score) changes nothing but the ceiling."""
    text = RULES.replace('cap = "high"\nurgency = "low"\n', 'cap = "high"\n')
    rules = rules_from(tmp_path, text)
    assert rules.evaluate("our film crew").urgency is Urgency.NORMAL  # the default, as if nothing fired
    assert rules.evaluate("our film crew: they are beating him").urgency is Urgency.HIGH


@pytest.mark.parametrize(("cap", "message"), [
    ('"critical"', "caps nothing"),
    ('"urgentish"', "urgentish"),
    ("3", "3"),
])
def test_cap_mistakes_are_load_errors(tmp_path: Path, cap: str, message: str) -> None:
    text = RULES.replace('cap = "high"\nurgency = "low"', f"cap = {cap}\nurgency = \"low\"")
    with pytest.raises(RulesLoadError) as caught:
        rules_from(tmp_path, text)
    assert message in str(caught.value)


# -- the default packs ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pack() -> RuleSet:
    return load_rules([default_pack_dir()])


@pytest.mark.parametrize(("text", "lang", "capped_by"), [
    # a film crew's scene: violence words in a text about a shoot
    ("Our film crew is shooting tonight: a scene where the boss is beating a worker in a container.",
     "en", None),
    # a scam text's deadline
    ("URGENT: your account is locked and they are holding your package, pay now or lose it tonight "
     "bit.ly/x9", "en", "spam.phishing.en"),
    # account-security phishing with a deadline, a researcher, a training scenario (caution.not_now)
    ("ALERT: Unusual sign-in detected. Your Apple ID will be LOCKED in 2 hrs. Confirm identity now",
     "en", "caution.not_now.en"),
    ("Soy estudiante de posgrado, para un estudio: ¿qué frases usa la gente cuando dice 'estoy en "
     "peligro, me tienen encerrada'?", "es", "caution.not_now.es"),
    ("Tabletop training exercise next week: a worker is locked in and the boss returns in 20 "
     "minutes. Could staff observe?", "en", "caution.not_now.en"),
    # a survivor years out, not in danger now
    ("Survivor here, I got out years ago. My trafficker is still there in that town right now, "
     "I just want to talk to someone about a safety plan.", "en", None),
    ("Hace años me tuvieron encerrada y me golpeaban, ya salí y ahora mismo estoy con mi familia, "
     "quería saber cómo denunciar.", "es", None),
])
def test_the_packs_never_rate_these_critical(pack: RuleSet, text: str, lang: str,
                                             capped_by: str | None) -> None:
    decision = pack.evaluate(text, lang=lang)
    assert decision.urgency is not Urgency.CRITICAL, (decision.rule_ids, decision.basis)
    if capped_by is not None:
        assert capped_by in decision.rule_ids


@pytest.mark.parametrize(("text", "lang"), [
    ("He is beating her right now in the kitchen, please send someone", "en"),
    ("I got out of that house years ago but tonight I am going to end it, I have the pills", "en"),
    ("Me escapé hace años pero esta noche me voy a quitar la vida, ya tengo las pastillas", "es"),
    ("la estan subiendo a la camioneta a la fuerza ahorita mismo", "es"),
])
def test_the_packs_still_rate_these_critical(pack: RuleSet, text: str, lang: str) -> None:
    decision = pack.evaluate(text, lang=lang)
    assert decision.urgency is Urgency.CRITICAL, (decision.rule_ids, decision.basis)
