"""`hotline rules explain` says which definition a decision rests on; `hotline rules diff`
reports precision and recall per language and per class (issue 15)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.helpers.process import run_cli
from triage_rules import default_pack_dir
from triage_rules.urgency import DEFINITIONS, Urgency

DEV = Path(__file__).parent / "data" / "triage_dev.jsonl"


def test_explain_names_the_definition_and_the_modifiers() -> None:
    text = "I left that farm years ago but he is outside my door right now"
    out = json.loads(run_cli("rules", "explain", text, "--json").stdout)
    assert out["urgency"] == "critical"
    assert out["basis"]["definition"] == DEFINITIONS[Urgency.CRITICAL]
    assert out["basis"]["step"] == "raised"
    assert out["basis"]["rules"][0] == "time.now.en"
    shown = run_cli("rules", "explain", text).stdout
    assert f"rests on critical: {DEFINITIONS[Urgency.CRITICAL]}" in shown
    assert "time.now.en (modifier: raise to critical" in shown
    assert "distance.past.en (modifier: lower to normal" in shown
    past_text = "they locked me in years ago, I'm safe now"
    past = json.loads(run_cli("rules", "explain", past_text, "--json").stdout)
    assert past["urgency"] == "normal" and past["basis"]["definition"] == DEFINITIONS[Urgency.NORMAL]


def test_diff_reports_each_language_and_class(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for folder in (old, new):
        folder.mkdir()
        for file in default_pack_dir().glob("*.toml"):
            shutil.copy(file, folder)
    (new / "es_when.toml").unlink()  # drop the Spanish "when" rules: Spanish emergencies go unpaged
    out = json.loads(run_cli("rules", "diff", str(old), str(new), "--corpus", str(DEV), "--json").stdout)
    old_groups, new_groups = out["old_groups"], out["new_groups"]
    assert {"lang:en", "lang:es", "class:immediacy", "class:self-harm", "class:spam"} <= set(new_groups)

    def critical_recall(groups: dict[str, dict[str, object]], name: str) -> float:
        per_urgency = groups[name]["per_urgency"]
        assert isinstance(per_urgency, list)
        return float(next(u["recall"] for u in per_urgency if u["urgency"] == "critical"))

    assert critical_recall(old_groups, "lang:es") >= 0.95
    assert critical_recall(new_groups, "lang:es") < critical_recall(old_groups, "lang:es")
    assert critical_recall(new_groups, "lang:en") == critical_recall(old_groups, "lang:en")
    shown = run_cli("rules", "diff", str(old), str(new), "--corpus", str(DEV)).stdout
    assert "by language and class" in shown
    assert "| class:self-harm |" in shown and "| lang:es |" in shown


def test_explain_says_a_final_modifier_cannot_be_overridden() -> None:
    """A `final` lower (a story, an exercise) outranks every raise; explain must say so, or an
    administrator reading why a message with "right now" did not page would look for a bug."""
    text = "I'm writing a thriller where a girl is locked in a basement right now"
    shown = run_cli("rules", "explain", text).stdout
    final_line = next(line for line in shown.splitlines() if "fired   not_live.exercise.en" in line)
    assert "final: no raise overrides it" in final_line
    raise_line = next(line for line in shown.splitlines() if "fired   time.now.en" in line)
    assert "final" not in raise_line


def test_explain_names_the_cap_that_held_a_message_below_critical() -> None:
    """A capped message (a test text quoting violence): explain says the rules gave high because
    a cap held them, and which rule carries the cap -- else "beating me" at high looks like a bug."""
    text = "this is a test message, please ignore: help they are beating me"
    out = json.loads(run_cli("rules", "explain", text, "--no-reader", "--lang", "en", "--json").stdout)
    assert out["urgency"] == "high"
    assert out["basis"]["step"] == "capped" and out["basis"]["base"] == "critical"
    assert "context.info.en" in out["basis"]["rules"]
    shown = run_cli("rules", "explain", text, "--no-reader", "--lang", "en").stdout
    assert "capped from critical by context.info.en" in shown
    cap_line = next(line for line in shown.splitlines() if "fired   context.info.en" in line)
    assert "cap high" in cap_line
