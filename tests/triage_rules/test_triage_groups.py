"""``all`` / ``any`` groups and ``[lists]``: what they match, how negation applies, their errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from triage_rules import RuleIssue, RuleSet, RulesLoadError, load_rules
from triage_rules import _matching_reference as reference
from triage_rules.matching import GroupMatcher


def rules_from(tmp_path: Path, text: str) -> RuleSet:
    path = tmp_path / "rules.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_rules([path])


def issues_of(tmp_path: Path, text: str) -> tuple[RuleIssue, ...]:
    path = tmp_path / "rules.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(RulesLoadError) as raised:
        load_rules([path])
    return raised.value.issues


GROUPS = """\
[lists]
minor_terms = ["minor", "underage", "under 18", "child", "teen"]
sex_terms = ["clients", "customers", "johns"]

[[rule]]
id = "minor.sex"
all = [["@minor_terms"], ["@sex_terms"]]
unless = ["not", "no"]
negation_window = 2
urgency = "critical"
[rule.examples]
match = ["she is a minor. They make her see clients", "teen girls with johns"]
no_match = ["she is not a minor, she sees clients", "a minor was at school", "clients at the bar"]

[[rule]]
id = "three.of"
any = [
  ["took my passport", "keeps my papers"],
  { phrases = ["owe them money"], patterns = ['debt (keeps|keep) growing'] },
  "cannot leave",
]
at_least = 2
score = 7
[rule.examples]
match = ["they took my passport and i cant leave", "the debt keeps growing, I cannot leave"]
no_match = ["they took my passport", "I owe them money"]

[[rule]]
id = "words.all"
all = ["passport", "boss"]
phrases = ["confiscated"]
score = 1
[rule.examples]
match = ["the boss has my passport", "papers confiscated"]
no_match = ["my passport", "my boss"]
"""


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("There is a minor here. Later, clients came.", ("minor.sex",)),
        ("clients came for the underage girl", ("minor.sex",)),
        ("UNDER 18!!! and customers", ("minor.sex",)),
        ("a child lives there", ()),
        ("she is not a minor and has clients", ()),
        ("she is not a minor, but there is a teen with clients", ("minor.sex",)),
        ("not a minor. no clients", ()),
        ("they took my passport", ()),
        ("they took my passport, I owe them money and I cannot leave", ("three.of",)),
        ("I owe them money and my debt keep growing", ()),  # one group, twice
        ("the debt keeps growing and they keep my papers", ()),  # "keep" is not "keeps my papers"
        ("the debt keeps growing and he keeps my papers", ("three.of",)),
        ("the boss took the passport", ("three.of", "words.all")[1:]),
        ("confiscated", ("words.all",)),
    ],
)
def test_groups_match(tmp_path: Path, text: str, ids: tuple[str, ...]) -> None:
    rules = rules_from(tmp_path, GROUPS)
    decision = rules.evaluate(text)
    assert decision.rule_ids == ids, text
    assert decision == reference.evaluate(rules, text)
    assert rules.explain(text).decision == decision


def test_lists_are_expanded_where_phrases_are_taken(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, GROUPS)
    rule = rules.rule("minor.sex")
    assert rule.all_groups[0].phrases == ("minor", "underage", "under 18", "child", "teen")
    assert rule.all_groups[1].phrases == ("clients", "customers", "johns")
    three = rules.rule("three.of")
    assert three.at_least == 2
    assert [len(g.phrases) + len(g.patterns) for g in three.any_groups] == [2, 2, 1]
    assert three.any_groups[1].patterns == ("debt (keeps|keep) growing",)
    assert rules.rule("words.all").all_groups[1].phrases == ("boss",)


def test_group_hits_are_the_spans_explain_shows(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, GROUPS)
    text = "A teen, a MINOR, and clients."
    hit = rules.evaluate(text).fired[0]
    assert [text[start:end] for start, end in hit.spans] == ["teen", "MINOR", "clients"]
    explained = rules.explain("she is not a minor, clients came")
    trace = next(t for t in explained.traces if t.rule_id == "minor.sex")
    assert not trace.fired
    assert trace.negated == ((13, 18),)


def test_all_other_ways_still_fire(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, GROUPS)
    assert rules.evaluate("papers confiscated").rule_ids == ("words.all",)
    assert rules.evaluate("the boss keeps the passport").rule_ids == ("words.all",)


def test_any_with_default_at_least_is_any_group(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        """\
        [[rule]]
        id = "either"
        any = [["gun"], { patterns = ['kni(fe|ves)'] }]
        score = 1
        [rule.examples]
        match = ["gun", "knives"]
        no_match = ["spoon"]
        """,
    )
    assert rules.rule("either").at_least == 1
    assert rules.evaluate("he has knives").rule_ids == ("either",)


def test_prefilter_skips_group_rules_short_of_their_need(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, GROUPS)
    prefilter = rules._prefilter

    def ids(text: str) -> list[str]:
        return [rules.rules[index].id for index, _, _ in prefilter.candidates(text.encode())]

    assert ids("took my passport") == []
    assert ids("took my passport cannot leave") == ["three.of"]
    assert ids("cannot leave owe them money") == ["three.of"]
    assert ids("minor") == []
    assert ids("minor clients") == ["minor.sex"]
    group = next(m for m in rules.rule("three.of").matchers if isinstance(m, GroupMatcher))
    assert group.need == 2 and len(group.regexes) == 3


def test_group_matcher_needs_a_sensible_count() -> None:
    with pytest.raises(ValueError, match="need must be from 1 to 0"):
        GroupMatcher([], 1)


def test_many_group_hits_are_capped(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, GROUPS)
    text = "teen clients " * 100
    decision = rules.evaluate(text)
    assert len(decision.fired[0].spans) == 32
    assert decision == reference.evaluate(rules, text)
    negated = "no teen, " * 300 + "teen clients"
    assert rules.evaluate(negated) == reference.evaluate(rules, negated)


# -- errors ----------------------------------------------------------------------------------

RULE = """\
[[rule]]
id = "g"
{body}
score = 1
[rule.examples]
match = ["alpha beta"]
"""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('all = [["alpha"]]', "all needs at least two groups (for a single group, use phrases)"),
        ("all = []", "all must be a list of groups"),
        ('all = "alpha"', "all must be a list of groups"),
        ('all = [["alpha"], []]', "all: a group must be a non-empty list of texts"),
        ('all = [["alpha"], [1]]', "all: a group must be a non-empty list of texts"),
        ('all = [["alpha"], 3]', "all must be a list of groups"),
        (
            'all = [["alpha"], { phrase = ["beta"] }]',
            "unknown key 'phrase' in a group of all (did you mean 'phrases'?)",
        ),
        ('all = [["alpha"], { patterns = [] }]', "all: a group needs phrases or patterns"),
        ("all = [" + ", ".join(['["alpha"]'] * 17) + "]", "all has 17 groups; at most 16"),
        ("all = [[\"alpha\"], { patterns = ['(b'] }]", "all: pattern '(b' is not valid RE2"),
        ('all = [["alpha"], ["..."]]', "all: '...' has no letters or digits"),
        ('any = [["alpha"], ["beta"]]\nat_least = 3', "at_least must be a whole number from 1 to 2"),
        ('any = [["alpha"], ["beta"]]\nat_least = true', "at_least must be a whole number from 1 to 2"),
        ('phrases = ["alpha"]\nat_least = 1', "at_least has no effect without any"),
        (
            'phrases = ["@nowhere"]',
            "phrases: unknown list '@nowhere' (lists in this file: none; define them in [lists])",
        ),
        (
            'all = [["alpha"], ["gamma", "delta"]]',
            'match example "alpha beta" does not fire the rule '
            "(all: 1 of 2 groups hit, 2 needed; no hit for group 2)",
        ),
    ],
)
def test_group_errors(tmp_path: Path, body: str, message: str) -> None:
    issues = issues_of(tmp_path, RULE.format(body=body))
    assert any(message in issue.message for issue in issues), [str(i) for i in issues]
    assert all(issue.rule_id == "g" and issue.line is not None for issue in issues)


def test_a_failing_group_example_says_which_groups_missed(tmp_path: Path) -> None:
    issues = issues_of(
        tmp_path,
        """\
        [[rule]]
        id = "g"
        all = [["alpha"], ["beta"], ["gamma"]]
        any = [["delta"], ["alpha"]]
        at_least = 2
        unless = ["not"]
        score = 1
        [rule.examples]
        match = ["alpha and not beta"]
        """,
    )
    (issue,) = issues
    assert issue.line == 9
    assert issue.message == (
        'match example "alpha and not beta" does not fire the rule (the hit "beta" was discarded by a '
        "negation cue) (all: 1 of 3 groups hit, 3 needed; no hit for group 2, 3; "
        "any: 1 of 2 groups hit, 2 needed; no hit for group 1)"
    )


@pytest.mark.parametrize(
    ("lists", "line", "message"),
    [
        ('"Bad Name" = ["x"]', 2, "[lists] name 'Bad Name' must be 1 to 64 of a-z 0-9 _ . -"),
        ("terms = []", 2, '[lists] terms must be a non-empty list of texts, like ["..."]'),
        ('terms = "x"', 2, '[lists] terms must be a non-empty list of texts, like ["..."]'),
        ('terms = [\n  "ok",\n  "@other",\n]', 4, "[lists] terms: '@other': a list cannot name another list"),
        ('terms = ["ok", "?!"]', 2, "[lists] terms: '?!' has no letters or digits"),
    ],
)
def test_list_errors(tmp_path: Path, lists: str, line: int, message: str) -> None:
    text = f"[lists]\n{lists}\n\n" + RULE.format(body='phrases = ["@terms", "alpha"]')
    issues = issues_of(tmp_path, text)
    found = [issue for issue in issues if issue.message == message]
    assert found, [str(i) for i in issues]
    assert found[0].line == line and found[0].rule_id is None


def test_lists_must_be_a_table(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, 'lists = ["x"]\n' + RULE.format(body='phrases = ["alpha"]'))
    assert [(i.line, i.message) for i in issues] == [
        (1, '[lists] must be a table of named lists, like terms = ["..."]')
    ]


def test_unknown_list_names_the_known_ones(tmp_path: Path) -> None:
    text = '[lists]\nalpha_terms = ["alpha"]\n\n' + RULE.format(body='phrases = ["@alpha_term"]')
    issues = issues_of(tmp_path, text)
    assert [(i.line, i.rule_id, i.message) for i in issues] == [
        (6, "g", "phrases: unknown list '@alpha_term' (lists in this file: @alpha_terms)")
    ]


def test_lists_are_per_file(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        '[lists]\nalpha_terms = ["alpha"]\n' + RULE.format(body='phrases = ["@alpha_terms"]')
    )
    (tmp_path / "b.toml").write_text(RULE.replace('"g"', '"h"').format(body='phrases = ["@alpha_terms"]'))
    with pytest.raises(RulesLoadError) as raised:
        load_rules([tmp_path])
    (issue,) = raised.value.issues
    assert issue.path.endswith("b.toml") and "unknown list '@alpha_terms'" in issue.message


def test_lists_in_near_unless_and_groups(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        """\
        [lists]
        docs = ["passport", "papers"]
        takers = ["took", "keeps"]
        cues = ["not", "never"]

        [[rule]]
        id = "docs"
        near = { a = ["@docs"], b = ["@takers"], within = 3 }
        unless = ["@cues"]
        score = 3
        [rule.examples]
        match = ["he took my papers"]
        no_match = ["he never took my papers"]
        """,
    )
    rule = rules.rule("docs")
    assert rule.near[0].a == ("passport", "papers")
    assert rule.unless == ("not", "never")
    assert rules.evaluate("she keeps the passport").rule_ids == ("docs",)
