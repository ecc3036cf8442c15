"""The compiler: one ``[[rule]]`` table validated against the grammar and compiled into a ``Rule``.

The matching keys are compiled here; the simple keys (where a rule applies, what it
gives: urgency, score, cap, tags, the modifier keys) are read by ``rule_keys.py``.

Every problem is reported with its file and line (through the file reader
that owns the rule); a rule is compiled into its matchers only when its keys
are valid, and then every ``match`` / ``no_match`` example runs against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import rule_keys
from ._re2 import PatternError
from .grammar import (
    DEFAULT_NEGATION_WINDOW,
    EXAMPLE_KEYS,
    GROUP_KEYS,
    ID_CHARS,
    LIST_PREFIX,
    MAX_GROUPS,
    MAX_ID_LENGTH,
    MAX_NEGATION_WINDOW,
    MAX_WITHIN,
    NEAR_KEYS,
    RULE_KEYS,
    unknown_key_message,
)
from .matching import (
    GroupMatcher,
    NearMatcher,
    Negation,
    TermMatcher,
    check_pattern,
    compile_reach,
    compile_terms,
)
from .model import Examples, Group, Near, Rule
from .normalize import normalize
from .positions import Section
from .rule_checks import missing_groups, quote_spans, unreachable_characters

if TYPE_CHECKING:
    from .loader import FileReader

__all__ = ["RuleReader"]


class RuleReader:
    """Validates and compiles one [[rule]] block, reporting issues with lines."""

    def __init__(self, file: FileReader, raw: dict[str, Any], section: Section | None) -> None:
        self.file, self.raw, self.section = file, raw, section
        self.rule_id: str | None = None
        self.failed = False
        self.unresolved = False  # some "@list" could not be expanded (already reported)

    # -- where --------------------------------------------------------------

    def header_line(self) -> int | None:
        if self.section is not None:
            return self.section.first
        raw_id = self.raw.get("id")
        return self.file.positions.id_line(raw_id) if isinstance(raw_id, str) else None

    def line(self, key: str | None = None, table: str = "rule", literal: str | None = None) -> int | None:
        """Best line for an issue: the literal's line after the key, the key's, the header's."""
        positions, section = self.file.positions, self.section
        if section is None:
            return self.header_line()
        key_line = positions.key_line(section, key, table) if key is not None else None
        if literal is not None:
            after_key = Section(key_line, section.last) if key_line is not None else section
            found = positions.literal_line(after_key, literal) or positions.literal_line(section, literal)
            if found is not None:
                return found
        if key_line is not None:
            return key_line
        if table != "rule":
            return positions.header_line(section, table) or self.header_line()
        return self.header_line()

    def issue(
        self, message: str, key: str | None = None, table: str = "rule", literal: str | None = None
    ) -> None:
        self.failed = True
        self.file.issue(self.line(key, table, literal), self.rule_id, message)

    # -- values -------------------------------------------------------------

    def strings(self, table: dict[str, Any], key: str, where: str = "rule") -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.issue(f'{key} must be a list of texts, like ["..."]', key, where)
            return ()
        for item in value:
            if not item.strip():
                self.issue(f"{key} contains an empty text", key, where)
                return ()
        return tuple(value)

    def phrases(self, table: dict[str, Any], key: str, where: str = "rule") -> tuple[str, ...]:
        normalised: list[str] = []
        for phrase in self.expand(self.strings(table, key, where), key, where):
            text = normalize(phrase).text
            if not text:
                self.issue(f"{key}: {phrase!r} has no letters or digits", key, where, phrase)
            normalised.append(text)
        return tuple(normalised)

    def expand(self, texts: Sequence[str], key: str, where: str) -> list[str]:
        """``texts`` with every ``@name`` replaced by the texts of the file's list ``name``."""
        expanded: list[str] = []
        lists = self.file.lists
        for text in texts:
            stripped = text.strip()
            if not stripped.startswith(LIST_PREFIX):
                expanded.append(text)
                continue
            name = stripped[len(LIST_PREFIX) :].strip()
            if name not in lists:
                self.unresolved = True
                known = ", ".join(f"@{n}" for n in lists) or "none; define them in [lists]"
                self.issue(
                    f"{key}: unknown list {stripped!r} (lists in this file: {known})", key, where, text
                )
                continue
            items = lists[name]
            if items is None:
                self.failed = self.unresolved = True  # the list's own problem is already reported
                continue
            expanded.extend(items)
        return expanded

    def patterns(self, table: dict[str, Any], key: str, where: str = "rule") -> tuple[str, ...]:
        patterns = self.strings(table, key, where)
        for pattern in patterns:
            problem = check_pattern(pattern) or unreachable_characters(pattern)
            if problem is not None:
                self.issue(f"{key}: {problem}", key, where, pattern)
        return patterns

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.issue(f"{key} must be a whole number from {low} to {high}", key)
            return default
        return value

    # -- the rule -----------------------------------------------------------

    def read(self) -> Rule | None:
        self._read_id()
        for key in self.raw:
            if key not in RULE_KEYS:
                self.issue(unknown_key_message(key, RULE_KEYS, "[[rule]]"), key)
        description = self.raw.get("description", "")
        if not isinstance(description, str):
            self.issue("description must be a text", "description")
            description = ""
        langs = rule_keys.languages(self)
        channels = rule_keys.channels(self)
        phrases = self.phrases(self.raw, "phrases")
        patterns = self.patterns(self.raw, "patterns")
        near = self._near()
        all_groups = self._groups("all")
        any_groups = self._groups("any")
        at_least = self._at_least(any_groups)
        unless = self.phrases(self.raw, "unless")
        window = self.integer("negation_window", DEFAULT_NEGATION_WINDOW, 1, MAX_NEGATION_WINDOW)
        if "negation_window" in self.raw and not unless:
            self.issue("negation_window has no effect without unless", "negation_window")
        tags = rule_keys.tags(self, "tags")
        modifier = rule_keys.modifier(self)
        urgency, score = rule_keys.urgency_and_score(self, modifier is not None)
        cap = rule_keys.rule_cap(self)
        if modifier is not None and tags:
            self.issue("a modifier has no tags (tags say what a modifier acts on: use acts_on)", "tags")
        if not (phrases or patterns or near or all_groups or any_groups) and not self.unresolved:
            self.issue("rule needs at least one of phrases, patterns, near, all or any")
        examples = self._examples()
        if self.failed or self.rule_id is None:
            return None
        groups = (all_groups, any_groups, at_least)
        matchers = self._matchers(phrases, patterns, near, groups, (unless, window))
        if matchers is None:
            return None
        rule = Rule(
            id=self.rule_id,
            description=description,
            urgency=urgency,
            score=score,
            langs=langs,
            channels=channels,
            phrases=phrases,
            patterns=patterns,
            near=near,
            unless=unless,
            negation_window=window,
            examples=examples,
            source=self.file.path,
            line=self.line("id"),
            matchers=matchers[0],
            negation=matchers[1],
            all_groups=all_groups,
            any_groups=any_groups,
            at_least=at_least,
            tags=tags,
            modifier=modifier,
            cap=cap,
        )
        self._run_examples(rule)
        return None if self.failed else rule

    def _read_id(self) -> None:
        value = self.raw.get("id")
        if value is None:
            self.issue("rule has no id")
            return
        if (
            not isinstance(value, str)
            or not value
            or len(value) > MAX_ID_LENGTH
            or not set(value) <= ID_CHARS
        ):
            self.issue(f"id {value!r} must be 1 to {MAX_ID_LENGTH} of a-z 0-9 _ . -", "id")
            return
        self.rule_id = value

    def _near(self) -> tuple[Near, ...]:
        raw = self.raw.get("near")
        if raw is None:
            return ()
        tables = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(t, dict) for t in tables):
            self.issue("near must be a table like { a = [...], b = [...], within = 4 }", "near")
            return ()
        return tuple(n for n in (self._near_one(t) for t in tables) if n is not None)

    def _near_one(self, table: dict[str, Any]) -> Near | None:
        for key in table:
            if key not in NEAR_KEYS:
                self.issue(unknown_key_message(key, NEAR_KEYS, "near"), key, "rule.near")
        a = self.phrases(table, "a", "rule.near")
        b = self.phrases(table, "b", "rule.near")
        a_patterns = self.patterns(table, "a_patterns", "rule.near")
        b_patterns = self.patterns(table, "b_patterns", "rule.near")
        within = table.get("within")
        if isinstance(within, bool) or not isinstance(within, int) or not 1 <= within <= MAX_WITHIN:
            self.issue(f"near needs within = a whole number from 1 to {MAX_WITHIN}", "within", "rule.near")
            return None
        if not (a or a_patterns) or not (b or b_patterns):
            self.issue("near needs terms on both sides: a (or a_patterns) and b (or b_patterns)", "near")
            return None
        return Near(a, b, within, a_patterns, b_patterns)

    def _groups(self, key: str) -> tuple[Group, ...]:
        """The groups of ``all`` or ``any``: each a phrase, a list of phrases, or a table."""
        raw = self.raw.get(key)
        if raw is None:
            return ()
        shape = f'{key} must be a list of groups, like [["passport", "papers"], ["took", "keeps"]]'
        if not isinstance(raw, list) or not raw:
            self.issue(shape, key)
            return ()
        if len(raw) > MAX_GROUPS:
            self.issue(f"{key} has {len(raw)} groups; at most {MAX_GROUPS}", key)
            return ()
        minimum = 2 if key == "all" else 1
        if len(raw) < minimum:
            self.issue(f"{key} needs at least two groups (for a single group, use phrases)", key)
            return ()
        groups: list[Group] = []
        for item in raw:
            if isinstance(item, str):
                item = [item]
            if isinstance(item, list):
                if not item or not all(isinstance(v, str) for v in item):
                    self.issue(f"{key}: a group must be a non-empty list of texts", key)
                    return ()
                groups.append(Group(self.phrases({key: item}, key)))
            elif isinstance(item, dict):
                for name in item:
                    if name not in GROUP_KEYS:
                        self.issue(unknown_key_message(name, GROUP_KEYS, f"a group of {key}"), key)
                phrases = self.phrases({key: item.get("phrases", [])}, key)
                patterns = self.patterns({key: item.get("patterns", [])}, key)
                if not (phrases or patterns):
                    self.issue(f"{key}: a group needs phrases or patterns", key)
                    return ()
                groups.append(Group(phrases, patterns))
            else:
                self.issue(shape, key)
                return ()
        return tuple(groups)

    def _at_least(self, any_groups: tuple[Group, ...]) -> int:
        if "at_least" not in self.raw:
            return 1
        if "any" not in self.raw:
            self.issue("at_least has no effect without any", "at_least")
            return 1
        value = self.raw["at_least"]
        high = max(len(any_groups), 1)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            self.issue(
                f"at_least must be a whole number from 1 to {high} (the number of groups in any)", "at_least"
            )
            return 1
        return value

    def _examples(self) -> Examples:
        raw = self.raw.get("examples")
        if raw is None:
            self.issue("rule needs [rule.examples] with at least one match example")
            return Examples(())
        if not isinstance(raw, dict):
            self.issue("examples must be a table with match and no_match", "examples")
            return Examples(())
        for key in raw:
            if key not in EXAMPLE_KEYS:
                self.issue(unknown_key_message(key, EXAMPLE_KEYS, "[rule.examples]"), key, "rule.examples")
        match = self.strings(raw, "match", "rule.examples")
        if not match and "match" in raw:
            self.issue("examples.match needs at least one example", "match", "rule.examples")
        elif not match:
            self.issue("rule needs at least one match example", "examples")
        return Examples(match, self.strings(raw, "no_match", "rule.examples"))

    def _matchers(
        self,
        phrases: tuple[str, ...],
        patterns: tuple[str, ...],
        near: tuple[Near, ...],
        groups: tuple[tuple[Group, ...], tuple[Group, ...], int],
        negation: tuple[tuple[str, ...], int],
    ) -> tuple[tuple[TermMatcher | NearMatcher | GroupMatcher, ...], Negation | None] | None:
        """The rule's compiled matchers and negation (None if RE2 refuses them)."""
        all_groups, any_groups, at_least = groups
        unless, window = negation
        try:
            terms = compile_terms(phrases, patterns)
            matchers: list[TermMatcher | NearMatcher | GroupMatcher] = [TermMatcher(terms)] if terms else []
            for item in near:
                a = compile_terms(item.a, item.a_patterns)
                b = compile_terms(item.b, item.b_patterns)
                if a is not None and b is not None:
                    reach = None
                    if not (item.a_patterns or item.b_patterns):
                        reach = compile_reach(item.a, item.b, item.within)
                    single = all(len(term.split()) == 1 for term in (*item.a, *item.b))
                    matchers.append(NearMatcher(a, b, item.within, reach, single))
            for these, need in ((all_groups, len(all_groups)), (any_groups, at_least)):
                compiled = [compile_terms(group.phrases, group.patterns) for group in these]
                regexes = [regex for regex in compiled if regex is not None]
                if regexes and len(regexes) == len(these):
                    matchers.append(GroupMatcher(regexes, need))
            cues = Negation.of(unless, window)
        except PatternError as exc:
            self.issue(f"the rule's terms are too large for RE2 together: {exc}")
            return None
        return tuple(matchers), cues

    def _run_examples(self, rule: Rule) -> None:
        for example in rule.examples.match:
            trace = rule.fires_on(example)
            if not trace.fired:
                why = ""
                if trace.negated:
                    shown = quote_spans(example, trace.negated)
                    why = f" (the hit {shown} was discarded by a negation cue)"
                why += missing_groups(rule, example)
                self.issue(
                    f'match example "{example}" does not fire the rule{why}',
                    "match",
                    "rule.examples",
                    example,
                )
        for example in rule.examples.no_match:
            trace = rule.fires_on(example)
            if trace.fired:
                shown = quote_spans(example, trace.spans)
                self.issue(
                    f'no_match example "{example}" fires the rule (matched {shown})',
                    "no_match",
                    "rule.examples",
                    example,
                )
