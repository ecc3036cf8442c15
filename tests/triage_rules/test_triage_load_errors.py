"""Every kind of load error names the right file, line and rule id."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from triage_rules import RuleError, RuleIssue, RulesLoadError, load_rules

GOOD = """\
[[rule]]
id = "ok.rule"
phrases = ["help me"]
urgency = "high"
[rule.examples]
match = ["please help me"]
"""


def write(directory: Path, text: str, name: str = "rules.toml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def issues_of(*paths: Path) -> tuple[RuleIssue, ...]:
    with pytest.raises(RulesLoadError) as raised:
        load_rules(list(paths))
    assert isinstance(raised.value, RuleError)
    return raised.value.issues


def only_issue(*paths: Path) -> RuleIssue:
    issues = issues_of(*paths)
    assert len(issues) == 1, [str(i) for i in issues]
    return issues[0]


def test_good_file_loads(tmp_path: Path) -> None:
    rules = load_rules([write(tmp_path, GOOD)])
    assert [rule.id for rule in rules.rules] == ["ok.rule"]
    assert rules.rules[0].line == 2


def test_toml_syntax_error_has_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[[rule]]\nid = "broken\nphrases = ["x"]\n')
    issue = only_issue(path)
    assert (issue.path, issue.line, issue.rule_id) == (str(path), 2, None)
    assert issue.message.startswith("invalid TOML: ")
    assert str(issue).startswith(f"{path}:2: invalid TOML")


def test_unknown_rule_key_is_an_error_with_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('phrases = ["help me"]', 'phrases = ["help me"]\nphrase = ["x"]'))
    issue = only_issue(path)
    assert (issue.line, issue.rule_id) == (4, "ok.rule")
    assert "unknown key 'phrase'" in issue.message
    assert "did you mean 'phrases'" in issue.message
    assert str(issue) == f"{path}:4: [ok.rule] {issue.message}"


def test_unknown_examples_key(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + 'no_matches = ["x"]\n')
    issue = only_issue(path)
    assert (issue.line, issue.rule_id) == (7, "ok.rule")
    assert "did you mean 'no_match'" in issue.message


def test_unknown_pack_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[pack]\nname = "p"\nthreshold = 3\n\n' + GOOD)
    issue = only_issue(path)
    assert (issue.line, issue.rule_id) == (3, None)
    assert "did you mean 'thresholds'" in issue.message


def test_unknown_top_level_table(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + '\n[[rules]]\nid = "x"\n')
    issue = only_issue(path)
    assert issue.line == 8
    assert "unknown key 'rules'" in issue.message


def test_missing_id(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + '\n[[rule]]\nphrases = ["x"]\nscore = 1\n[rule.examples]\nmatch = ["x"]\n')
    issue = only_issue(path)
    assert (issue.line, issue.rule_id) == (8, None)
    assert issue.message == "rule has no id"


def test_invalid_id(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('"ok.rule"', '"Bad Id!"'))
    issue = only_issue(path)
    assert issue.line == 2
    assert "must be 1 to 100 of a-z 0-9 _ . -" in issue.message


def test_missing_examples(tmp_path: Path) -> None:
    text = GOOD.replace('[rule.examples]\nmatch = ["please help me"]\n', "")
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.rule_id) == (1, "ok.rule")
    assert "at least one match example" in issue.message


def test_examples_without_match(tmp_path: Path) -> None:
    text = GOOD.replace('match = ["please help me"]', 'no_match = ["hello"]')
    issue = only_issue(write(tmp_path, text))
    assert issue.rule_id == "ok.rule"
    assert "at least one match example" in issue.message


def test_bad_urgency(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('"high"', '"urgent"'))
    issue = only_issue(path)
    assert (issue.line, issue.rule_id) == (4, "ok.rule")
    assert "unknown urgency 'urgent'" in issue.message
    assert "low, normal, high, critical" in issue.message


def test_neither_urgency_nor_score(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, GOOD.replace('urgency = "high"\n', "")))
    assert (issue.line, issue.rule_id) == (1, "ok.rule")
    assert "urgency, a non-zero score" in issue.message


def test_wrong_types(tmp_path: Path) -> None:
    text = GOOD.replace('phrases = ["help me"]', 'phrases = "help me"\nscore = 1.5')
    issues = issues_of(write(tmp_path, text))
    messages = {i.line: i.message for i in issues}
    assert "phrases must be a list of texts" in messages[3]
    assert "score must be a whole number" in messages[4]


def test_nothing_to_match(tmp_path: Path) -> None:
    text = GOOD.replace('phrases = ["help me"]\n', "")
    issues = issues_of(write(tmp_path, text))
    assert any("at least one of phrases, patterns, near, all or any" in i.message for i in issues)


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, GOOD, "a.toml")
    second = write(tmp_path, "# another file\n\n" + GOOD, "b.toml")
    issue = only_issue(tmp_path)
    assert (issue.path, issue.line, issue.rule_id) == (str(second), 4, "ok.rule")
    assert f"first defined at {first}:2" in issue.message


def test_backreference_is_rejected_with_line(tmp_path: Path) -> None:
    text = GOOD.replace('phrases = ["help me"]', "phrases = [\"help me\"]\npatterns = [\n  '(a)\\1',\n]")
    path = write(tmp_path, text)
    issue = only_issue(path)
    assert (issue.path, issue.line, issue.rule_id) == (str(path), 5, "ok.rule")
    assert "is not valid RE2" in issue.message
    assert "\\1" in issue.message


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("'(?=a)b'", "not valid RE2"),
        ("'(?<!a)b'", "not valid RE2"),
        ("'a*+'", "not valid RE2"),
        ("'(unclosed'", "not valid RE2"),
        ("'x*'", "matches the empty text"),
        ("'niña'", "contains 'ñ', which normalised text never has (write 'n')"),
        ("'a\u2013b'", "contains '\u2013'"),
        ('"can\'t"', "apostrophe"),
    ],
)
def test_unusable_patterns(tmp_path: Path, pattern: str, words: str) -> None:
    text = GOOD.replace('phrases = ["help me"]', f'phrases = ["help me"]\npatterns = [{pattern}]')
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.rule_id) == (4, "ok.rule")
    assert words in issue.message


def test_failing_match_example_quotes_it(tmp_path: Path) -> None:
    text = GOOD.replace('match = ["please help me"]', 'match = [\n  "please help me",\n  "I need help",\n]')
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.rule_id) == (8, "ok.rule")
    assert issue.message == 'match example "I need help" does not fire the rule'


def test_failing_match_example_explains_negation(tmp_path: Path) -> None:
    text = GOOD.replace('urgency = "high"', 'urgency = "high"\nunless = ["not"]').replace(
        '"please help me"', '"do not help me"'
    )
    issue = only_issue(write(tmp_path, text))
    assert issue.line == 7
    assert 'the hit "help me" was discarded by a negation cue' in issue.message


def test_failing_no_match_example_quotes_it(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + 'no_match = ["they help me a lot"]\n')
    issue = only_issue(path)
    assert (issue.line, issue.rule_id) == (7, "ok.rule")
    assert issue.message == 'no_match example "they help me a lot" fires the rule (matched "help me")'


def test_unknown_channel_and_bad_language(tmp_path: Path) -> None:
    text = GOOD.replace('urgency = "high"', 'urgency = "high"\nchannels = ["smss"]\nlang = ["en-US"]')
    issues = issues_of(write(tmp_path, text))
    lines = {i.line: i.message for i in issues}
    assert "unknown channel 'smss'" in lines[5]
    assert "lang 'en-US' must be a lower-case language code" in lines[6]


def test_negation_window_needs_unless(tmp_path: Path) -> None:
    issue = only_issue(
        write(tmp_path, GOOD.replace('urgency = "high"', 'urgency = "high"\nnegation_window = 2'))
    )
    assert issue.line == 5
    assert "negation_window has no effect without unless" in issue.message


def test_near_errors(tmp_path: Path) -> None:
    text = GOOD + '[[rule.near]]\na = ["x"]\nb = ["y"]\nwithn = 3\n'
    issues = issues_of(write(tmp_path, text))
    assert [(i.line, i.rule_id) for i in issues] == [(10, "ok.rule"), (7, "ok.rule")]
    assert "did you mean 'within'" in issues[0].message
    assert "near needs within" in issues[1].message


def test_near_inline_table_errors(tmp_path: Path) -> None:
    text = GOOD.replace('phrases = ["help me"]', 'phrases = ["help me"]\nnear = { a = ["x"], within = 3 }')
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.rule_id) == (4, "ok.rule")
    assert "near needs terms on both sides" in issue.message


def test_threshold_conflict_between_files(tmp_path: Path) -> None:
    write(tmp_path, "[pack]\n[pack.thresholds]\nhigh = 5\n\n" + GOOD, "a.toml")
    second = write(tmp_path, "[pack]\n[pack.thresholds]\nhigh = 6\n", "b.toml")
    issue = only_issue(tmp_path)
    assert (issue.path, issue.line, issue.rule_id) == (str(second), 3, None)
    assert "conflicts with 5" in issue.message


def test_thresholds_out_of_order(tmp_path: Path) -> None:
    path = write(tmp_path, "[pack]\n[pack.thresholds]\nhigh = 5\ncritical = 4\n\n" + GOOD)
    issue = only_issue(path)
    assert issue.line == 4
    assert "threshold for critical (4) must be above the threshold for high (5)" in issue.message


def test_default_urgency_conflict(tmp_path: Path) -> None:
    write(tmp_path, '[pack]\ndefault_urgency = "normal"\n\n' + GOOD, "a.toml")
    second = write(tmp_path, '[pack]\nname = "b"\ndefault_urgency = "low"\n', "b.toml")
    issue = only_issue(tmp_path)
    assert (issue.path, issue.line) == (str(second), 3)


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    issues = issues_of(tmp_path / "nope.toml", empty)
    assert [(i.path, i.line, i.message) for i in issues] == [
        (str(tmp_path / "nope.toml"), None, "no such file or directory"),
        (str(empty), None, "no *.toml rule files in directory"),
    ]
    assert str(issues[0]) == f"{tmp_path / 'nope.toml'}: no such file or directory"


def test_no_rules_at_all(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, '[pack]\nname = "empty"\n'))
    assert issue.message == "no rules found"


def test_every_issue_in_every_file_is_listed(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace('"high"', '"urgent"'), "a.toml")
    write(tmp_path, '[[rule]]\nid = "x"\n', "b.toml")
    write(tmp_path, "[[rule]\n", "c.toml")
    with pytest.raises(RulesLoadError) as raised:
        load_rules([tmp_path])
    lines = str(raised.value).splitlines()
    assert len(lines) == len(raised.value.issues) >= 4
    assert lines[0].startswith(f"{tmp_path / 'a.toml'}:4: [ok.rule] unknown urgency")
    assert any(line.startswith(f"{tmp_path / 'b.toml'}:1: [x] ") for line in lines)
    assert lines[-1].startswith(f"{tmp_path / 'c.toml'}:1: invalid TOML")


def test_rules_written_as_inline_array_still_get_lines(tmp_path: Path) -> None:
    text = (
        "rule = [\n"
        '  { id = "first", phrases = ["a b"], score = 1, examples = { match = ["a b"] } },\n'
        '  { id = "second", phrases = ["c d"], score = 1, examples = { match = ["nope"] } },\n'
        "]\n"
    )
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.rule_id) == (3, "second")


def test_example_line_is_found_after_its_key(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + 'no_match = [\n  "fine",\n  "help me",\n]\n')
    issue = only_issue(path)
    assert (issue.line, issue.rule_id) == (9, "ok.rule")
    assert issue.message.startswith('no_match example "help me" fires the rule')
