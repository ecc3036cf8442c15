"""The comparison API: corpus loading, metrics, diffs between rule sets, advocates' feedback."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

import triage_rules
from triage_rules import (
    CorpusError,
    CorpusItem,
    FeedbackRecord,
    RuleSet,
    Urgency,
    default_pack_dir,
    diff_rulesets,
    evaluate_corpus,
    feedback_report,
    load_corpus,
    load_rules,
    metrics,
)
from triage_rules.compare import (
    Change,
    confusion_table,
    feedback_table,
    metrics_table,
    parse_corpus,
)

CORPUS = Path(__file__).resolve().parent.parent / "data" / "triage_corpus.jsonl"
DEV = CORPUS.parent / "triage_dev.jsonl"
README = Path(triage_rules.__file__).parent / "README.md"

L, N, H, C = Urgency.LOW, Urgency.NORMAL, Urgency.HIGH, Urgency.CRITICAL


def rules_from(tmp_path: Path, text: str, name: str = "rules.toml") -> RuleSet:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_rules([path])


OLD = """\
[pack]
[pack.thresholds]
high = 5
critical = 10

[[rule]]
id = "gun"
phrases = ["gun"]
urgency = "critical"
[rule.examples]
match = ["a gun"]

[[rule]]
id = "passport"
phrases = ["passport"]
score = 5
[rule.examples]
match = ["my passport"]
"""

NEW = OLD.replace('phrases = ["passport"]\nscore = 5', 'phrases = ["passport"]\nscore = 10').replace(
    '[[rule]]\nid = "gun"',
    '[[rule]]\nid = "info"\nphrases = ["information"]\nurgency = "low"\n'
    '[rule.examples]\nmatch = ["information please"]\n\n[[rule]]\nid = "gun"',
)


def corpus_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def item(text: str, urgency: Urgency, *, hard: bool = False, line: int = 0) -> CorpusItem:
    return CorpusItem(text=text, urgency=urgency, hard_negative=hard, line=line)


# -- load_corpus ----------------------------------------------------------------------------


def test_load_corpus_reads_every_field(tmp_path: Path) -> None:
    path = corpus_file(
        tmp_path,
        [
            '{"text": "he has a gun", "urgency": "critical", "lang": "en", "channel": "sms"}',
            "",
            '{"text": "¿información?", "urgency": "LOW", "lang": null,'
            ' "hard_negative": true, "note": "info"}',
        ],
    )
    items = load_corpus(path)
    assert items == [
        CorpusItem("he has a gun", C, "en", "sms", False, "", str(path), 1),
        CorpusItem("¿información?", L, None, None, True, "info", str(path), 3),
    ]
    assert load_corpus(str(path)) == items


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "x", "urgency": "high"', "invalid JSON: Expecting ',' delimiter (column 32)"),
        ("[1, 2]", 'each line must be a JSON object like {"text": ..., "urgency": ...}'),
        ('{"urgency": "high"}', "missing 'text'"),
        ('{"text": "x"}', "missing 'urgency'"),
        (
            '{"text": "x", "urgency": "urgent"}',
            "'urgency': unknown urgency 'urgent' (allowed: low, normal, high, critical)",
        ),
        (
            '{"text": "x", "urgency": 3}',
            "'urgency': unknown urgency 3 (allowed: low, normal, high, critical)",
        ),
        ('{"text": 5, "urgency": "high"}', "'text' must be a text"),
        ('{"text": "x", "urgency": "high", "lang": 1}', "'lang' must be a text or null"),
        ('{"text": "x", "urgency": "high", "channel": ["sms"]}', "'channel' must be a text or null"),
        ('{"text": "x", "urgency": "high", "hard_negative": "yes"}', "'hard_negative' must be true or false"),
        ('{"text": "x", "urgency": "high", "note": 1}', "'note' must be a text"),
        (
            '{"text": "x", "urgency": "high", "label": "high"}',
            "unknown key 'label'; allowed: text, urgency, lang, channel, hard_negative, note",
        ),
    ],
)
def test_load_corpus_errors_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    good = '{"text": "fine", "urgency": "normal"}'
    path = corpus_file(tmp_path, [good, line, good])
    with pytest.raises(CorpusError) as raised:
        load_corpus(path)
    (issue,) = raised.value.issues
    assert (issue.path, issue.line, issue.message) == (str(path), 2, message)
    assert str(raised.value) == f"{path}:2: {message}"
    assert isinstance(raised.value, triage_rules.RuleError)


def test_load_corpus_lists_every_bad_line(tmp_path: Path) -> None:
    path = corpus_file(tmp_path, ["{", '{"text": "x"}', '{"text": "ok", "urgency": "low"}', "nope"])
    with pytest.raises(CorpusError) as raised:
        load_corpus(path)
    assert [issue.line for issue in raised.value.issues] == [1, 2, 4]


def test_load_corpus_file_problems(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="cannot read"):
        load_corpus(tmp_path / "missing.jsonl")
    empty = corpus_file(tmp_path, ["", "  "])
    with pytest.raises(CorpusError, match="no items in the corpus"):
        load_corpus(empty)
    binary = tmp_path / "bad.jsonl"
    binary.write_bytes(b'{"text": "ok", "urgency": "low"}\n\xff\xfe\n')
    with pytest.raises(CorpusError) as raised:
        load_corpus(binary)
    assert (raised.value.issues[0].line, raised.value.issues[0].message) == (2, "not valid UTF-8 text")


def test_parse_corpus_names_its_source() -> None:
    items = parse_corpus(['{"text": "a", "urgency": "high"}'], "<stdin>")
    assert items[0].source == "<stdin>" and items[0].line == 1
    with pytest.raises(CorpusError, match=r"^<stdin>:1: invalid JSON"):
        parse_corpus(["{"], "<stdin>")


# -- metrics -------------------------------------------------------------------------------


def test_metrics_per_urgency_and_confusion(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, OLD)
    items = [
        item("he has a gun", C),
        item("my passport", H),
        item("my passport and a gun", C),
        item("a news story about a gun", L, hard=True),
        item("hello", N),
        item("the passport", C),
    ]
    decisions = evaluate_corpus(rules, items)
    assert [d.urgency for d in decisions] == [C, H, C, C, N, H]
    result = metrics(decisions, items)
    assert result.total == 6
    assert result.confusion == ((0, 0, 0, 1), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 1, 2))
    critical = result.of(C)
    assert (critical.support, critical.predicted, critical.correct) == (3, 3, 2)
    assert critical.precision == pytest.approx(2 / 3) and critical.recall == pytest.approx(2 / 3)
    assert result.of(L).precision is None and result.of(L).recall == 0.0
    assert result.hard_negatives == 1 and result.hard_negatives_critical == (3,)
    assert (result.correct, result.under, result.over) == (4, 1, 1)
    assert result.accuracy == pytest.approx(4 / 6)
    encoded = json.loads(json.dumps(result.to_json()))
    assert encoded["per_urgency"][3] == {
        "urgency": "critical",
        "support": 3,
        "predicted": 3,
        "correct": 2,
        "precision": pytest.approx(2 / 3),
        "recall": pytest.approx(2 / 3),
    }
    assert encoded["confusion"]["counts"][3] == [0, 0, 1, 2]
    table = metrics_table(result)
    assert "| critical | 3 | 3 | 2 | 0.67 | 0.67 |" in table
    assert "| low | 1 | 0 | 0 | – | 0.00 |" in table
    assert "| critical | 0 | 0 | 1 | 2 |" in confusion_table(result.confusion)


def test_metrics_needs_one_decision_per_item(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="1 decisions for 2 items"):
        metrics(evaluate_corpus(rules_from(tmp_path, OLD), [item("x", N)]), [item("x", N), item("y", N)])


def test_metrics_of_nothing() -> None:
    result = metrics([], [])
    assert result.accuracy is None and result.total == 0


# -- diff -------------------------------------------------------------------------------------


def test_diff_lists_every_change_without_text(tmp_path: Path) -> None:
    old = rules_from(tmp_path, OLD, "old.toml")
    new = rules_from(tmp_path, NEW, "new.toml")
    assert old.version != new.version
    items = [
        item("he has a gun", C, line=1),
        item("my passport", C, line=2),
        item("information please", L, line=3),
        item("hello", N, line=4),
        item("information about my passport", H, line=5),
    ]
    report = diff_rulesets(old, new, items)
    assert (report.old_version, report.new_version, report.total) == (old.version, new.version, 5)
    assert report.changes == (
        Change(1, 2, C, H, C, ("passport",), ("passport",)),
        Change(2, 3, L, N, L, (), ("info",)),
        Change(4, 5, H, H, C, ("passport",), ("info", "passport")),
    )
    assert [c.effect for c in report.changes] == ["fixed", "fixed", "broken"]
    assert all(change.text is None for change in report.changes)
    assert report.rules_changed == 0
    assert report.old_metrics.of(C).recall == 0.5 and report.new_metrics.of(C).recall == 1.0
    encoded = json.loads(json.dumps(report.to_json()))
    assert encoded["changed"] == 3 and "text" not in encoded["changes"][0]
    assert encoded["changes"][0] == {
        "index": 1,
        "line": 2,
        "label": "critical",
        "old": "high",
        "new": "critical",
        "effect": "fixed",
        "old_rules": ["passport"],
        "new_rules": ["passport"],
    }


def test_diff_with_text_and_rule_only_changes(tmp_path: Path) -> None:
    old = rules_from(tmp_path, OLD, "old.toml")
    new = rules_from(tmp_path, NEW, "new.toml")
    items = [item("information, he has a gun", C), item("my passport", H)]
    report = diff_rulesets(old, new, items, include_text=True)
    assert report.rules_changed == 1  # the gun item: critical both times, one more rule fires
    (change,) = report.changes
    assert change.text == "my passport" and change.to_json()["text"] == "my passport"


@pytest.mark.parametrize(
    ("label", "old", "new", "effect"),
    [(C, H, C, "fixed"), (C, C, H, "broken"), (C, L, H, "better"), (C, H, L, "worse"), (N, L, H, "changed")],
)
def test_change_effect(label: Urgency, old: Urgency, new: Urgency, effect: str) -> None:
    assert Change(0, 1, label, old, new, (), ()).effect == effect


def test_diff_of_the_same_set_is_empty() -> None:
    rules = load_rules([default_pack_dir()])
    items = load_corpus(CORPUS)[:40]
    report = diff_rulesets(rules, rules, items)
    assert report.changes == () and report.rules_changed == 0
    assert report.old_metrics == report.new_metrics


# -- feedback ------------------------------------------------------------------------------


def test_feedback_precision_uses_floors_when_the_rule_set_knows_them(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, OLD)  # gun: floor critical; passport: score only
    records = [
        (("gun",), C, H),  # lowered below the floor: gun overruled
        (("gun", "passport"), C, N),  # both overruled (passport: tip lowered)
        FeedbackRecord(("passport",), H, C),  # raised: passport upheld, raised
        (("passport",), H, H),  # a confirmation: upheld
        ((), N, C),  # nothing fired, advocate raised: a miss no rule shows
        ((), N, L),
        (("retired.rule",), H, N),
    ]
    report = feedback_report(records, rules)
    assert report.records == 7
    gun, passport, retired = report.rule("gun"), report.rule("passport"), report.rule("retired.rule")
    assert (gun.floor, gun.firings, gun.upheld, gun.lowered, gun.raised) == (C, 2, 0, 2, 0)
    assert gun.precision == 0.0 and gun.advocate == (0, 1, 1, 0)
    assert (passport.floor, passport.firings, passport.upheld, passport.lowered, passport.raised) == (
        None,
        3,
        2,
        1,
        1,
    )
    assert passport.precision == pytest.approx(2 / 3) and passport.known
    assert not retired.known and retired.precision == 0.0
    assert (report.without_rules, report.raised_without_rules) == (2, 1)
    assert report.confusion == ((0, 0, 0, 0), (1, 0, 0, 1), (0, 1, 1, 1), (0, 1, 1, 0))
    assert [entry.rule_id for entry in report.rules] == ["gun", "passport", "retired.rule"]
    with pytest.raises(KeyError):
        report.rule("nope")


def test_feedback_floor_below_the_tip_is_upheld_when_lowered_to_it(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, OLD.replace('urgency = "critical"', 'urgency = "high"'))
    report = feedback_report([(("gun", "passport"), C, H)], rules)
    # gun's floor is high: the advocate agreed with it; passport (score only) saw the tip lowered
    assert report.rule("gun").precision == 1.0
    assert report.rule("passport").precision == 0.0


def test_feedback_without_a_rule_set_counts_lowering_as_overruling() -> None:
    report = feedback_report([(("a", "a", "b"), H, N), (("a",), H, C)])
    a = report.rule("a")
    assert (a.firings, a.upheld, a.lowered, a.raised, a.floor, a.known) == (2, 1, 1, 1, None, False)
    assert report.rule("b").precision == 0.0
    table = feedback_table(report)
    assert table.index("| b |") < table.index("| a |")  # lowest precision first
    assert "(unknown rule)" in table
    assert json.loads(json.dumps(report.to_json()))["rules"][0]["advocate"] == {
        "low": 0,
        "normal": 1,
        "high": 0,
        "critical": 1,
    }


def test_feedback_of_nothing_and_bad_records() -> None:
    empty = feedback_report([])
    assert empty.records == 0 and empty.rules == ()
    with pytest.raises(TypeError, match="Urgency values"):
        feedback_report([(("a",), "high", Urgency.LOW)])  # type: ignore[list-item]


# -- the shipped corpus -------------------------------------------------------------------


def test_the_shipped_corpus() -> None:
    items = load_corpus(CORPUS)
    assert len(items) >= 300
    langs = {i.lang for i in items}
    assert {"en", "es"} <= langs
    for lang in ("en", "es"):
        assert sum(1 for i in items if i.lang == lang) >= 100
    assert sum(1 for i in items if i.channel == "sms") >= 50
    assert sum(1 for i in items if i.hard_negative) >= 60
    assert {i.urgency for i in items} == set(Urgency)
    assert len({i.text for i in items}) == len(items)


@pytest.mark.parametrize("known_language", [True, False])
def test_the_default_pack_keeps_its_floors_on_the_training_corpus(known_language: bool) -> None:
    # the service evaluates with lang=None (every language's rules run): the floors hold both ways.
    # The training corpus is labelled by the older guide, which rates some messages critical that
    # the definitions in PRODUCT.md rate high (a minor made to work, "they won't let us leave");
    # hence critical recall 0.88 here, not the 0.95 of the tuning set below.
    items = load_corpus(CORPUS)
    if not known_language:
        items = [dataclasses.replace(item, lang=None) for item in items]
    result = metrics(evaluate_corpus(load_rules([default_pack_dir()]), items), items)
    critical = result.of(Urgency.CRITICAL)
    assert critical.recall is not None and critical.recall >= 0.85
    assert critical.precision is not None and critical.precision >= 0.95
    assert result.hard_negatives_critical == ()


@pytest.mark.parametrize("known_language", [True, False])
def test_the_default_pack_meets_issue_15s_bar_on_the_tuning_set(known_language: bool) -> None:
    # tests/data/triage_dev.jsonl: 334 messages written from the definitions, labelled before any
    # tuning, then TUNED ON -- these are tuning-set figures, a regression check, not an estimate
    items = load_corpus(DEV)
    if not known_language:
        items = [dataclasses.replace(item, lang=None) for item in items]
    result = metrics(evaluate_corpus(load_rules([default_pack_dir()]), items), items)
    critical = result.of(Urgency.CRITICAL)
    assert critical.recall is not None and critical.recall >= 0.95
    assert critical.precision is not None and critical.precision >= 0.85
    assert result.confusion[Urgency.LOW.rank][Urgency.CRITICAL.rank] == 0
    assert result.confusion[Urgency.NORMAL.rank][Urgency.CRITICAL.rank] == 0
    assert result.accuracy is not None and result.accuracy >= 0.80
    for lang in ("en", "es"):
        chosen = [item for item in items if (item.lang or lang) == lang] if known_language else items
        part = metrics(evaluate_corpus(load_rules([default_pack_dir()]), chosen), chosen)
        assert (part.of(Urgency.CRITICAL).recall or 0) >= 0.95, lang


@pytest.mark.parametrize("corpus", [CORPUS, DEV])
def test_the_readme_reports_the_current_numbers(corpus: Path) -> None:
    # bench/triage_corpus.py writes these tables; a change to the pack or corpus must update them
    items = load_corpus(corpus)
    result = metrics(evaluate_corpus(load_rules([default_pack_dir()]), items), items)
    readme = README.read_text(encoding="utf-8")
    assert metrics_table(result) in readme
    assert confusion_table(result.confusion) in readme
