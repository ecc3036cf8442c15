"""The prefilter: which rules of a set can fire on a text, from one pass of ``RE2::Set``.

It changes no decision, only which rules run their own searches.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import repeat
from operator import add

from ._re2 import PatternError, Regex, RegexSet
from .matching import GroupMatcher, Matcher
from .negation import Negation

__all__ = ["MAX_SET_SIZE", "Prefilter", "RuleCandidates"]


# Most expressions in one RE2::Set; a larger rule set uses several sets. One pass of
# one large set costs less than several passes of small ones (1,600 expressions:
# about 20 µs over 2,000 characters as one set, 60 µs as four); RE2 gets the memory
# budget ``_re2.SET_MAX_MEM`` per set to compile them.
MAX_SET_SIZE = 8192


# A rule that may fire on a text: its index in the rule set, its matchers that
# may have candidates, and whether a cue of its negation occurs in the text.
RuleCandidates = tuple[int, tuple[Matcher, ...], bool]


class Prefilter:
    """Which rules of a set can fire on a text, from one pass of ``RE2::Set`` over it.

    ``rules`` gives every rule's matchers and negation, in rule-set order.
    Every distinct expression (a matcher's terms, a proximity side, a group,
    the cues) goes into the set once. A matcher may have candidates only when
    enough of its expressions match somewhere (all of them, or a group
    matcher's ``need``); a rule whose matchers all have none cannot fire. If
    RE2 cannot finish a pass (its DFA out of memory) or refuses an expression
    in a set, the rules concerned are simply run in full.
    """

    __slots__ = ("_actions", "_everything", "_plans", "_sets", "_triggers", "_unfiltered")

    def __init__(self, rules: Sequence[tuple[Sequence[Matcher], Negation | None]]) -> None:
        ids: dict[str, int] = {}  # expression -> id, from 1 (as RegexSet.match counts)

        def id_of(regex: Regex) -> int:
            return ids.setdefault(regex.pattern, len(ids) + 1)

        plans: list[tuple[tuple[tuple[Matcher, tuple[int, ...], int], ...], int]] = []
        triggers: dict[int, set[int]] = {}
        for index, (matchers, negation) in enumerate(rules):
            plan: list[tuple[Matcher, tuple[int, ...], int]] = []
            for matcher in matchers:
                needed = tuple(id_of(regex) for regex in matcher.regexes)
                need = matcher.need if isinstance(matcher, GroupMatcher) else len(needed)
                plan.append((matcher, needed, need))
                # of the expressions a matcher needs ``need`` of, any ``need`` include one
                # of the first ``len - need + 1``: those stand for it
                for id_ in needed[: len(needed) - need + 1]:
                    triggers.setdefault(id_, set()).add(index)
            plans.append((tuple(plan), id_of(negation.cues) if negation is not None else -1))
        self._plans = tuple(plans)
        # By expression id, what a pass does when the expression matches. A rule with one
        # matcher that needs all of its expressions is listed under the first, with the
        # others it needs and what it yields but for the cue flag. Every other rule (several
        # matchers, or a group matcher that needs only some of its groups) is listed under
        # the expressions that stand for its matchers, and its plan is checked.
        direct: dict[int, list[tuple[int, tuple[Matcher, ...], int, tuple[int, ...]]]] = {}
        planned: dict[int, list[int]] = {}
        for id_, indices in triggers.items():
            for index in sorted(indices):
                steps, cues = plans[index]
                if len(steps) == 1 and steps[0][2] == len(steps[0][1]):
                    matcher, needed, _ = steps[0]
                    direct.setdefault(id_, []).append((index, (matcher,), cues, needed[1:]))
                else:
                    planned.setdefault(id_, []).append(index)
        self._actions: dict[
            int, tuple[tuple[tuple[int, tuple[Matcher, ...], int, tuple[int, ...]], ...], tuple[int, ...]]
        ] = {id_: (tuple(direct.get(id_, ())), tuple(planned.get(id_, ()))) for id_ in triggers}
        self._triggers = frozenset(triggers)
        self._sets, unfiltered = _compile_sets(list(ids), 1)
        self._unfiltered = frozenset(unfiltered)
        self._everything: tuple[RuleCandidates, ...] = tuple(
            (index, tuple(matcher for matcher, _, _ in plan), cues >= 0)
            for index, (plan, cues) in enumerate(plans)
            if plan
        )

    def matched(self, data: bytes) -> set[int] | None:
        """The ids of the expressions that match ``data`` somewhere (None: RE2 gave up)."""
        sets = self._sets
        if len(sets) == 1:
            found = sets[0][0].match(data)
            if found is None:
                return None
            matched = set(found)
        else:
            matched = set()
            for regex_set, first in sets:
                found = regex_set.match(data)
                if found is None:
                    return None
                matched.update(map(add, found, repeat(first - 1)) if first > 1 else found)
        if self._unfiltered:
            matched |= self._unfiltered
        return matched

    def candidates(self, data: bytes) -> Sequence[RuleCandidates]:
        """The rules that may fire on the normalised text ``data``, in rule-set order."""
        return self.checked_candidates(data)[0]

    def checked_candidates(self, data: bytes) -> tuple[Sequence[RuleCandidates], bool]:
        """``candidates``, and whether every expression of every matcher they list was seen to match.

        False when RE2 gave up on the pass or left expressions out of its sets:
        those are assumed to match, so a listed matcher may have no hit.
        """
        matched = self.matched(data)
        if matched is None:
            return self._everything, False
        return self._candidates(matched), not self._unfiltered

    def _candidates(self, matched: set[int]) -> list[RuleCandidates]:
        result: list[RuleCandidates] = []
        append = result.append
        pending: set[int] = set()
        actions, superset = self._actions, matched.issuperset
        for id_ in matched & self._triggers:
            direct, planned = actions[id_]
            for index, matchers, cues, others in direct:
                if not others or superset(others):
                    append((index, matchers, cues in matched))
            if planned:
                pending.update(planned)
        if pending:
            plans = self._plans
            has = matched.__contains__
            for index in pending:
                plan, cues = plans[index]
                if len(plan) == 1:
                    matcher, needed, need = plan[0]
                    if sum(map(has, needed)) >= need:
                        append((index, (matcher,), cues in matched))
                    continue
                active = tuple(
                    matcher
                    for matcher, needed, need in plan
                    if (superset(needed) if need == len(needed) else sum(map(has, needed)) >= need)
                )
                if active:
                    append((index, active, cues in matched))
        result.sort(key=_FIRST)
        return result


_FIRST = operator.itemgetter(0)


def _compile_sets(patterns: list[str], first: int) -> tuple[list[tuple[RegexSet, int]], list[int]]:
    """RE2 sets for ``patterns`` (ids ``first``...), with each set's first id; ids left out.

    A set RE2 refuses (too large) is halved until it compiles.
    """
    if not patterns:
        return [], []
    if len(patterns) <= MAX_SET_SIZE:
        try:
            return [(RegexSet(patterns), first)], []
        except PatternError:
            if len(patterns) == 1:
                return [], [first]
    half = len(patterns) // 2
    low_sets, low_left = _compile_sets(patterns[:half], first)
    high_sets, high_left = _compile_sets(patterns[half:], first + half)
    return low_sets + high_sets, low_left + high_left
