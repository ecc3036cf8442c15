"""Rules, rule sets and the decisions they make."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

from .matching import (
    MAX_HITS,
    Candidate,
    Doc,
    GroupMatcher,
    NearMatcher,
    Negation,
    Span,
    TermMatcher,
)
from .normalize import NormalizedText, normalize, prepare_for_matching
from .prefilter import Prefilter
from .prepared import PreparedText
from .scorer import Basis, Modifier, score_hits, urgency_and_score
from .urgency import Urgency

__all__ = [
    "Decision",
    "Examples",
    "Explanation",
    "Group",
    "Hit",
    "Near",
    "Rule",
    "RuleSet",
    "RuleTrace",
    "primary_language",
]


@dataclass(frozen=True)
class Hit:
    """A rule that fired. ``spans`` index into the ORIGINAL text (for ``explain``)."""

    rule_id: str
    urgency: Urgency | None
    score: int
    spans: tuple[tuple[int, int], ...]
    tags: frozenset[str] = frozenset()
    modifier: Modifier | None = None
    cap: Urgency | None = None
    """The most the rules may rate a message this rule fired on (the rule key ``cap``)."""


@dataclass(frozen=True)
class Decision:
    """What a rule set decided for one text, and which set decided it.

    ``basis`` says which step of the scorer set the urgency and which rules
    (see ``scorer``); it is worked out from ``fired`` when first read (a triage
    decision never needs it, ``explain`` does), and is None for a decision made
    without a rule set's thresholds (``scoring``).
    """

    urgency: Urgency
    score: int
    fired: tuple[Hit, ...]
    ruleset_version: str
    scoring: tuple[tuple[tuple[Urgency, int], ...], Urgency] | None = field(
        default=None, compare=False, repr=False
    )

    @functools.cached_property
    def basis(self) -> Basis | None:
        if self.scoring is None:
            return None
        thresholds, default = self.scoring
        return score_hits(self.fired, thresholds, default)[2]

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(hit.rule_id for hit in self.fired)

    @property
    def live(self) -> bool:
        """False when a ``final`` lower modifier fired: a rule judged the text not a live
        report at all (a story being written, a class exercise, a role play). The second
        reader then raises it to ``high`` at most (``reader.combine``)."""
        return not any(hit.modifier is not None and hit.modifier.final for hit in self.fired)


@dataclass(frozen=True)
class Near:
    """A proximity condition: a term of ``a`` within ``within`` words of a term of ``b``.

    Terms are normalised phrases or RE2 patterns.
    """

    a: tuple[str, ...]
    b: tuple[str, ...]
    within: int
    a_patterns: tuple[str, ...] = ()
    b_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """One group of an ``all`` or ``any`` condition: normalised phrases and RE2 patterns.

    The group is satisfied by a hit of any of its terms anywhere in the text.
    """

    phrases: tuple[str, ...]
    patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Examples:
    """Texts the rule must fire on, and texts it must not fire on."""

    match: tuple[str, ...]
    no_match: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleTrace:
    """How one rule went for one text: for ``explain`` and for the examples check.

    ``spans`` are the hits that counted, ``negated`` the hits a cue discarded;
    both index into the original text.
    """

    rule_id: str
    applies: bool
    fired: bool
    spans: tuple[Span, ...]
    negated: tuple[Span, ...]


@dataclass(frozen=True)
class Explanation:
    """A decision with every rule's trace, in rule-set order."""

    decision: Decision
    traces: tuple[RuleTrace, ...]


_SCORE = operator.attrgetter("score")
_URGENCY = operator.attrgetter("urgency")
_RANK: dict[Urgency, int] = {urgency: urgency.rank for urgency in Urgency}


def primary_language(tag: str) -> str:
    """The primary subtag of a language tag, lower case: "es-MX" → "es"."""
    return tag.strip().replace("_", "-").split("-", 1)[0].lower()


Matcher = TermMatcher | NearMatcher | GroupMatcher


@dataclass(frozen=True, eq=False)
class Rule:
    """One loaded, compiled rule. Phrases and cues are kept in normalised form.

    ``all_groups``: every group must hit (the ``all`` key); ``any_groups``: at
    least ``at_least`` of them must (the ``any`` key). Each is one more way
    for the rule to fire, besides its terms and ``near`` conditions.
    """

    id: str
    description: str
    urgency: Urgency | None
    score: int
    langs: frozenset[str]
    channels: frozenset[str]
    phrases: tuple[str, ...]
    patterns: tuple[str, ...]
    near: tuple[Near, ...]
    unless: tuple[str, ...]
    negation_window: int
    examples: Examples
    source: str
    line: int | None
    matchers: tuple[Matcher, ...] = field(repr=False)
    negation: Negation | None = field(repr=False)
    all_groups: tuple[Group, ...] = ()
    any_groups: tuple[Group, ...] = ()
    at_least: int = 1
    tags: frozenset[str] = frozenset()
    modifier: Modifier | None = None
    cap: Urgency | None = None

    def hit(self, spans: tuple[Span, ...] = ()) -> Hit:
        """This rule's hit with ``spans``."""
        return Hit(self.id, self.urgency, self.score, spans, self.tags, self.modifier, self.cap)

    def applies(self, *, lang: str | None = None, channel: str | None = None) -> bool:
        """Whether the rule's language and channel conditions admit this text.

        An unknown language or channel (None or blank) admits every rule.
        """
        if self.langs and lang and lang.strip() and primary_language(lang) not in self.langs:
            return False
        if self.channels and channel and channel.strip():
            return channel.strip().lower() in self.channels
        return True

    def _admits(self, code: str | None, medium: str | None) -> bool:
        """``applies`` for a language already reduced to its primary code and a channel
        already stripped and lower-cased (None when unknown)."""
        if code is not None and self.langs and code not in self.langs:
            return False
        return medium is None or not self.channels or medium in self.channels

    def trace(self, doc: Doc, *, applies: bool = True) -> RuleTrace:
        """Run the rule's matchers over a prepared text."""
        if not applies:
            return RuleTrace(self.id, False, False, (), ())
        kept: list[Span] = []
        negated: list[Span] = []
        for matcher in self.matchers:
            if isinstance(matcher, GroupMatcher):
                if len(kept) < MAX_HITS:
                    group_kept, group_negated = matcher.match(doc, self.negation)
                    kept.extend(map(doc.to_original, group_kept[: MAX_HITS - len(kept)]))
                    negated.extend(map(doc.to_original, group_negated[: max(0, MAX_HITS - len(negated))]))
                continue
            for candidate in matcher.candidates(doc):
                if len(kept) >= MAX_HITS:
                    break
                target = negated if self._negated(doc, candidate) else kept
                if len(target) < MAX_HITS:
                    target.extend(doc.to_original(span) for span in candidate.spans)
        return RuleTrace(self.id, True, bool(kept), _tidy(kept), _tidy(negated))

    def _hit_spans(
        self, doc: Doc, matchers: Sequence[Matcher], negation: Negation | None
    ) -> tuple[Span, ...]:
        """The spans ``trace`` would report as counted, running only ``matchers``.

        For ``RuleSet.evaluate``: the prefilter passes the matchers that may
        have candidates, and the negation only when its cues occur in the text.
        """
        kept: list[Span] = []
        for matcher in matchers:
            if isinstance(matcher, GroupMatcher):
                if len(kept) < MAX_HITS:
                    group_kept, _ = matcher.match(doc, negation)
                    kept.extend(map(doc.to_original, group_kept[: MAX_HITS - len(kept)]))
                continue
            for spans in matcher.hits(doc):
                if len(kept) >= MAX_HITS:
                    break
                if negation is None or not negation.negates(doc, spans):
                    kept.extend(map(doc.to_original, spans))
        return _tidy(kept) if len(kept) > 1 else tuple(kept)

    def _fires(self, doc: Doc, matchers: Sequence[Matcher], negation: Negation | None, checked: bool) -> bool:
        """Whether ``_hit_spans`` would find a span, without collecting spans.

        For ``RuleSet.evaluate(spans=False)``. When ``checked``, the prefilter
        saw every expression of ``matchers`` match the text (for a group
        matcher, at least as many groups as it needs): a term or group matcher
        with no negation to check then fires without a search.
        """
        for matcher in matchers:
            if checked and negation is None and not isinstance(matcher, NearMatcher):
                return True
            if matcher.fires(doc, negation):
                return True
        return False

    def fires_on(self, text: str) -> RuleTrace:
        """The rule alone on ``text``, whatever its language and channel conditions."""
        return self.trace(Doc(normalize(text)))

    def _negated(self, doc: Doc, candidate: Candidate) -> bool:
        return self.negation is not None and self.negation.negates(doc, candidate.spans)


def _tidy(spans: Sequence[Span]) -> tuple[Span, ...]:
    """Spans sorted, with overlapping ones merged."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True, eq=False)
class RuleSet:
    """A loaded set of rules: evaluate texts with it.

    ``version`` is a hash of the files' names and bytes (and of the
    normalisation table), recorded with every decision. ``thresholds`` map a
    summed score to an urgency: the highest urgency whose threshold the score
    reaches.
    """

    version: str
    rules: tuple[Rule, ...]
    sources: tuple[str, ...]
    default_urgency: Urgency = Urgency.NORMAL
    thresholds: tuple[tuple[Urgency, int], ...] = ()

    def __post_init__(self) -> None:
        _ = self._prefilter  # compiled with the rule set, not on the first text
        _ = self._plain_hits

    @functools.cached_property
    def _plain_hits(self) -> tuple[tuple[Hit, bool], ...]:
        """Per rule: its hit without spans (hits are immutable, so one serves every
        text), and whether it has language or channel conditions."""
        return tuple(
            (rule.hit(), bool(rule.langs or rule.channels))
            for rule in self.rules
        )

    @functools.cached_property
    def _prefilter(self) -> Prefilter:
        return Prefilter([(rule.matchers, rule.negation) for rule in self.rules])

    def evaluate(
        self, text: str, *, lang: str | None = None, channel: str | None = None, spans: bool = True,
        prepared: NormalizedText | PreparedText | None = None,
    ) -> Decision:
        """The urgency, score and fired rules for ``text``.

        The urgency is the highest of the fired rules' urgencies and the
        urgency the summed score reaches; when neither gives one, it is the
        set's default urgency.

        The same decision as ``explain``'s, without its traces: one pass of
        the prefilter finds the rules that can fire, and only those run.

        With ``spans=False`` every hit's ``spans`` is empty and each rule stops
        at its first hit that counts: the same urgency, score and rule ids,
        faster. That is all a triage decision records; ``explain`` shows spans.

        ``prepared``: ``prepare_for_matching(text)`` if the caller has it already (``triage``
        shares it with the second reader).
        """
        doc = Doc(prepared if prepared is not None else prepare_for_matching(text))
        fired: list[Hit] = []
        rules, plain = self.rules, self._plain_hits
        candidates, checked = self._prefilter.checked_candidates(doc.data)
        # the message's language and channel as ``Rule.applies`` compares them (None: unknown)
        code = primary_language(lang) if lang and lang.strip() else None
        medium = channel.strip().lower() if channel and channel.strip() else None
        for index, matchers, negatable in candidates:
            rule = rules[index]
            hit, conditional = plain[index]
            if conditional and not rule._admits(code, medium):
                continue
            negation = rule.negation if negatable else None
            if not spans:
                first = matchers[0]
                if negation is None:
                    # checked: the prefilter saw the words; only proximity needs a search
                    if (checked and type(first) is not NearMatcher) or rule._fires(
                        doc, matchers, None, checked
                    ):
                        fired.append(hit)
                elif len(matchers) == 1 and type(first) is TermMatcher:
                    if first.fires(doc, negation):
                        fired.append(hit)
                elif rule._fires(doc, matchers, negation, checked):
                    fired.append(hit)
                continue
            found = rule._hit_spans(doc, matchers, negation)
            if found:
                fired.append(rule.hit(found))
        return self.decide(tuple(fired))

    def explain(self, text: str, *, lang: str | None = None, channel: str | None = None) -> Explanation:
        """``evaluate`` with every rule's trace, for administrators' ``explain``."""
        doc = Doc(normalize(text))
        traces = tuple(
            rule.trace(doc, applies=rule.applies(lang=lang, channel=channel)) for rule in self.rules
        )
        fired = tuple(
            rule.hit(trace.spans)
            for rule, trace in zip(self.rules, traces, strict=True)
            if trace.fired
        )
        return Explanation(self.decide(fired), traces)

    def decide(self, fired: tuple[Hit, ...]) -> Decision:
        """The decision for a given set of fired rules (``scorer``)."""
        urgency, score = urgency_and_score(fired, self.thresholds, self.default_urgency)
        return Decision(urgency, score, fired, self.version, (self.thresholds, self.default_urgency))

    def score_urgency(self, score: int) -> Urgency | None:
        """The highest urgency whose threshold ``score`` reaches, if any."""
        reached = [urgency for urgency, minimum in self.thresholds if score >= minimum]
        return max(reached, key=_RANK.__getitem__) if reached else None

    def rule(self, rule_id: str) -> Rule:
        """The rule with id ``rule_id`` (KeyError if there is none)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)
