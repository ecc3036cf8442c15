"""Rule-set versions, urgency ordering, the public API and the docs that describe it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import triage_rules
from triage_rules import Urgency, default_pack_dir, load_rules
from triage_rules.loader import EXAMPLE_KEYS, GROUP_KEYS, NEAR_KEYS, PACK_KEYS, RULE_KEYS, TOP_KEYS

RULE = """\
[[rule]]
id = "{rule_id}"
phrases = ["help me"]
urgency = "high"
[rule.examples]
match = ["please help me"]
"""


def make(directory: Path, *names: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / f"{name}.toml").write_text(RULE.format(rule_id=name), encoding="utf-8")
    return directory


def test_version_is_stable_for_the_same_content(tmp_path: Path) -> None:
    first = load_rules([make(tmp_path / "one", "a", "b")])
    again = load_rules([make(tmp_path / "one")])
    elsewhere = load_rules([make(tmp_path / "two", "b", "a")])
    assert first.version == again.version == elsewhere.version
    assert first.version.startswith("rs-") and len(first.version) == 19
    int(first.version[3:], 16)


def test_version_ignores_the_order_paths_are_given(tmp_path: Path) -> None:
    make(tmp_path, "a", "b")
    forward = load_rules([tmp_path / "a.toml", tmp_path / "b.toml"])
    backward = load_rules([tmp_path / "b.toml", tmp_path / "a.toml"])
    assert forward.version == backward.version


def test_version_changes_when_content_changes(tmp_path: Path) -> None:
    make(tmp_path, "a")
    before = load_rules([tmp_path]).version
    path = tmp_path / "a.toml"
    path.write_text(path.read_text(encoding="utf-8") + "# a comment\n", encoding="utf-8")
    assert load_rules([tmp_path]).version != before
    path.rename(tmp_path / "renamed.toml")
    assert load_rules([tmp_path]).version not in {before}


def test_decisions_carry_the_version(tmp_path: Path) -> None:
    rules = load_rules([make(tmp_path, "a")])
    assert rules.evaluate("help me").ruleset_version == rules.version


def test_default_pack_copy_has_the_same_version(tmp_path: Path) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(default_pack_dir(), copy)
    assert load_rules([copy]).version == load_rules([default_pack_dir()]).version


def test_same_file_given_twice_is_loaded_once(tmp_path: Path) -> None:
    make(tmp_path, "a")
    rules = load_rules([tmp_path, tmp_path / "a.toml"])
    assert [rule.id for rule in rules.rules] == ["a"]
    assert rules.sources == (str(tmp_path / "a.toml"),)


def test_urgency_order_and_parse() -> None:
    assert Urgency.LOW < Urgency.NORMAL < Urgency.HIGH < Urgency.CRITICAL
    assert Urgency.CRITICAL >= Urgency.HIGH and Urgency.HIGH <= Urgency.HIGH
    assert max(Urgency.NORMAL, Urgency.CRITICAL, Urgency.LOW) is Urgency.CRITICAL
    assert sorted([Urgency.HIGH, Urgency.LOW]) == [Urgency.LOW, Urgency.HIGH]
    assert [u.value for u in Urgency] == ["low", "normal", "high", "critical"]
    assert Urgency.parse("high") is Urgency.HIGH
    assert Urgency.parse(" Critical ") is Urgency.CRITICAL
    assert str(Urgency.NORMAL) == "normal"
    with pytest.raises(ValueError, match="allowed: low, normal, high, critical"):
        Urgency.parse("urgent")


def test_urgency_does_not_compare_with_other_types() -> None:
    with pytest.raises(TypeError):
        _ = Urgency.LOW < 1


def test_public_api() -> None:
    for name in (
        "Urgency",
        "Hit",
        "Decision",
        "RuleSet",
        "Rule",
        "load_rules",
        "RulesLoadError",
        "RuleIssue",
        "RuleError",
        "default_pack_dir",
        "normalize",
        "NormalizedText",
    ):
        assert name in triage_rules.__all__
        assert hasattr(triage_rules, name)
    assert issubclass(triage_rules.RulesLoadError, triage_rules.RuleError)
    assert default_pack_dir().is_dir()
    assert sorted(p.name for p in default_pack_dir().glob("*.toml")) == [
        "en.toml",
        "en_when.toml",
        "es.toml",
        "es_when.toml",
    ]


def test_every_key_is_documented() -> None:
    doc = (Path(triage_rules.__file__).parent / "RULES.md").read_text(encoding="utf-8")
    for key in (*TOP_KEYS, *RULE_KEYS, *PACK_KEYS, *NEAR_KEYS, *EXAMPLE_KEYS, *GROUP_KEYS):
        assert f"`{key}`" in doc, key


def test_the_documented_complete_example_loads(tmp_path: Path) -> None:
    doc = (Path(triage_rules.__file__).parent / "RULES.md").read_text(encoding="utf-8")
    example = doc.split("## A complete example", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.toml"
    path.write_text(example, encoding="utf-8")
    rules = load_rules([path])
    rule = rules.rule("danger.immediate.en")
    assert rule.all_groups and rule.any_groups and rule.at_least == 2
    assert rules.evaluate("he pointed a machete at me").rule_ids == ("danger.immediate.en",)
    assert rules.evaluate("I am bleeding and choking").rule_ids == ("danger.immediate.en",)
    assert rules.evaluate("he has a machete").fired == ()
