"""The scorer: from the rules that fired to one urgency, and the definition it rests on.

Pure functions of the fired hits, the thresholds and the default urgency.

1. **Base.** Ordinary rules (not modifiers) add their scores; the base
   urgency is the highest of their urgency floors and the urgency the summed
   score reaches (``thresholds``); when neither gives one, the default.
2. **Lower.** A ``lower`` modifier (distance: "years ago", "ya estoy a
   salvo") that fired *acts* when an ordinary rule with one of its
   ``acts_on`` tags fired too (any ordinary rule, when it names no tags) and
   the base is at least its ``from``. It caps what the rules it names give
   at its ``to`` (the lowest of them); rules it does not name keep what they
   give on their own ("I left two years ago and tonight I end it":
   self-harm is not a past situation).
3. **Raise.** A ``raise`` modifier (a time or presence word: "right now",
   "tonight", "ahorita") that fired and acts (same condition) lifts the
   result of step 2 to its ``to`` when that is higher: a time word beats
   distance ("I left years ago but he is outside right now" stays critical;
   "I left years ago but she still calls my parents for what I owe" is high) --
   unless an acting lower modifier is ``final`` (not a live report: a story, an
   exercise, a role play) or ``holds`` (a statement of safety now: "I'm okay
   right now", "nobody has been violent"), which no raise overrides. A raise
   that ``yields`` (a presence word alone: "she is here now", "está aquí") does
   not apply when any lower modifier acts: a past time beats a presence word
   ("three years ago they held him ... he is back, he is here with us").
4. **Cap.** A rule with a ``cap`` that fired (a question about the service, a
   past story, spam, a test, research) holds the result of step 3 at most at its
   ``cap`` (the lowest of them), but never below a fired rule's own ``urgency``
   floor (``selfharm.intent``'s critical stands: "I got out years ago, tonight I
   end it"): words of danger in such a text are the rules' weakest evidence, and
   the rules rate critical only on evidence that really is critical. The second
   reader, which reads the whole message, may still raise it (a cap is not a
   ``final``: the text is not judged "not a live report").

A modifier never adds score and never acts alone: "tonight" in a message no
other rule fired on changes nothing. ``Basis`` records which step set the
urgency and which rules, so ``explain`` can say which definition of
``urgency.DEFINITIONS`` the decision rests on and why.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from .urgency import DEFINITIONS, Urgency

__all__ = ["Basis", "Modifier", "ModifierKind", "score_hits", "urgency_and_score"]

ModifierKind = Literal["raise", "lower"]

_RANK: dict[Urgency, int] = {urgency: urgency.rank for urgency in Urgency}
_BY_RANK: tuple[Urgency, ...] = tuple(Urgency)
# The rank of an urgency by the member's id: ``Urgency``'s hash is Python code, ``id`` is not,
# and the members are singletons. For the per-message loop of ``urgency_and_score`` only.
_RANK_OF_ID: dict[int, int] = {id(urgency): urgency.rank for urgency in Urgency}
_SCORE = operator.attrgetter("score")


@dataclass(frozen=True)
class Modifier:
    """What a modifier rule does when it fires: raise to or lower to ``to``.

    ``acts_on``: the tags of the ordinary rules it acts on (empty: any).
    ``at_least``: it acts only when the base urgency is at least this (the
    rule key ``from``): "tonight" lifts a report already ``high`` to
    ``critical``, not a damped one.
    ``final`` (lower only): when it acts, no raise applies -- the message is not a
    live report (a story, a class exercise, a role play), so its "tonight" is the
    story's, not the reporter's.
    ``holds`` (lower only): when it acts, no raise applies either, but the message
    stays a live report the second reader may raise (a statement of safety now:
    "I'm okay right now" says what "right now" is about).
    ``yields`` (raise only): it does not apply when any lower modifier acts (a
    presence word alone, "she is here now", gives way to "three years ago").
    """

    kind: ModifierKind
    to: Urgency
    acts_on: frozenset[str] = frozenset()
    at_least: Urgency | None = None
    final: bool = False
    holds: bool = False
    yields: bool = False

    @property
    def blocks_raises(self) -> bool:
        """Whether, acting, it keeps every raise from applying (``final`` or ``holds``)."""
        return self.final or self.holds

    def describe(self) -> str:
        """What it does, for ``explain``."""
        return (f"modifier: {self.kind} to {self.to.value}"
                + (f" on {', '.join(sorted(self.acts_on))}" if self.acts_on else "")
                + (", final: no raise overrides it" if self.final else "")
                + (", holds: no raise overrides it" if self.holds and not self.final else "")
                + (", yields: not when a lower modifier acts" if self.yields else ""))

    def acts(self, tags: frozenset[str], base: Urgency) -> bool:
        """Whether it acts, given the tags of the ordinary rules that fired (at least one did)
        and the base urgency they give."""
        if self.at_least is not None and base.rank < self.at_least.rank:
            return False
        return not self.acts_on or not self.acts_on.isdisjoint(tags)


@dataclass(frozen=True)
class Basis:
    """Why a decision has its urgency.

    ``step``: ``floor`` (a rule's urgency), ``score`` (the summed score reached
    a threshold), ``raised`` / ``lowered`` (a modifier changed the base
    urgency ``base``), ``held`` (a ``holds`` lower -- a statement of safety --
    kept a raise to ``base`` from applying), ``capped`` (a fired rule's ``cap``
    held the urgency ``base`` below it), ``default`` (nothing decided).
    ``rules``: the rules that did it (for ``raised`` / ``lowered``: the
    modifiers, then the rules they acted on; for ``held``: the holding
    modifiers, then the raises they stopped).
    """

    urgency: Urgency
    step: Literal["floor", "score", "raised", "lowered", "held", "capped", "default"]
    rules: tuple[str, ...] = ()
    base: Urgency | None = None

    @property
    def definition(self) -> str:
        """The product's definition of this urgency (``urgency.DEFINITIONS``)."""
        return DEFINITIONS[self.urgency]

    def describe(self) -> str:
        """One line for ``explain``: the urgency, its definition, and what set it."""
        names = ", ".join(self.rules)
        how = {
            "floor": f"set by {names}",
            "score": f"summed score of {names}",
            "raised": f"raised from {self.base} by {names}",
            "lowered": f"lowered from {self.base} by {names}",
            "held": f"held by {names}: no raise to {self.base} over a statement of safety",
            "capped": f"capped from {self.base} by {names}",
            "default": "no rule decided: the rule set's default",
        }[self.step]
        return f"{self.urgency}: {self.definition} ({how})"

    def to_json(self) -> dict[str, object]:
        return {
            "urgency": self.urgency.value,
            "definition": self.definition,
            "step": self.step,
            "rules": list(self.rules),
            "base": self.base.value if self.base else None,
        }


class _Fired(Protocol):
    """What the scorer needs of a fired rule (``model.Hit`` has these attributes)."""

    @property
    def rule_id(self) -> str: ...
    @property
    def urgency(self) -> Urgency | None: ...
    @property
    def score(self) -> int: ...
    @property
    def tags(self) -> frozenset[str]: ...
    @property
    def modifier(self) -> Modifier | None: ...
    @property
    def cap(self) -> Urgency | None: ...


def urgency_and_score(
    fired: Sequence[_Fired],
    thresholds: Sequence[tuple[Urgency, int]],
    default: Urgency,
) -> tuple[Urgency, int]:
    """``score_hits`` without the basis: what ``RuleSet.evaluate`` calls for every message.

    One pass over the hits, and no ``Basis`` built (``Decision.basis`` works it out when
    read); the same urgency and score as ``score_hits``, which a property test checks.
    """
    score = 0
    top = -1
    cap = 99
    modifiers: list[_Fired] = []
    for hit in fired:
        if hit.cap is not None and _RANK_OF_ID[id(hit.cap)] < cap:
            cap = _RANK_OF_ID[id(hit.cap)]
        if hit.modifier is not None:
            modifiers.append(hit)
            continue
        score += hit.score
        level = hit.urgency
        if level is not None and _RANK_OF_ID[id(level)] > top:
            top = _RANK_OF_ID[id(level)]
    if top > cap:
        cap = top  # a rule's own urgency floor stands; a cap holds scores and raises
    ordinary = len(fired) - len(modifiers)
    if ordinary:
        for urgency, minimum in thresholds:
            if score >= minimum and _RANK_OF_ID[id(urgency)] > top:
                top = _RANK_OF_ID[id(urgency)]
    if not modifiers or not ordinary:
        reached = top if top >= 0 else _RANK[default]
        return _BY_RANK[min(reached, cap)], score
    base = top if top >= 0 else _RANK[default]
    tags: set[str] = set()
    for hit in fired:
        if hit.modifier is None:
            tags.update(hit.tags)
    raised = lowest = yielding = -1
    blocked = False
    lowers: list[Modifier] = []
    for hit in modifiers:
        modifier = hit.modifier
        assert modifier is not None
        if not modifier.acts(frozenset(tags), _BY_RANK[base]):
            continue
        rank = _RANK[modifier.to]
        if modifier.kind == "raise":
            if modifier.yields:
                yielding = max(yielding, rank)
            else:
                raised = max(raised, rank)
        else:
            lowers.append(modifier)
            lowest = rank if lowest < 0 else min(lowest, rank)
            blocked = blocked or modifier.blocks_raises
    if not lowers:
        raised = max(raised, yielding)
    if blocked:
        raised = -1
    now = base
    if lowers and lowest < base:
        used = [m for m in lowers if _RANK[m.to] == lowest]
        kept = [
            hit
            for hit in fired
            if hit.modifier is None
            and not any(not m.acts_on or not m.acts_on.isdisjoint(hit.tags) for m in used)
        ]
        kept_top = -1
        kept_score = 0
        for hit in kept:
            kept_score += hit.score
            if hit.urgency is not None and _RANK[hit.urgency] > kept_top:
                kept_top = _RANK[hit.urgency]
        if kept:
            for urgency, minimum in thresholds:
                if kept_score >= minimum and _RANK[urgency] > kept_top:
                    kept_top = _RANK[urgency]
        now = max(kept_top, lowest)
    return _BY_RANK[min(max(now, raised), cap)], score


def score_hits(
    fired: Sequence[_Fired],
    thresholds: Sequence[tuple[Urgency, int]],
    default: Urgency,
) -> tuple[Urgency, int, Basis]:
    """The urgency, summed score and basis for the fired rules (see the module documentation)."""
    urgency, score, basis = _uncapped(fired, thresholds, default)
    capping = [hit for hit in fired if hit.cap is not None]
    if not capping:
        return urgency, score, basis
    cap = min((hit.cap for hit in capping if hit.cap is not None), key=_RANK.__getitem__)
    floors = [hit.urgency for hit in fired if hit.modifier is None and hit.urgency is not None]
    cap = max([cap, *floors], key=_RANK.__getitem__)  # a rule's own urgency floor stands
    if _RANK[cap] >= _RANK[urgency]:
        return urgency, score, basis
    names = tuple(hit.rule_id for hit in capping if hit.cap is cap)
    return cap, score, Basis(cap, "capped", names, urgency)


def _uncapped(
    fired: Sequence[_Fired],
    thresholds: Sequence[tuple[Urgency, int]],
    default: Urgency,
) -> tuple[Urgency, int, Basis]:
    """Steps 1-3: base, lower, raise."""
    ordinary = [hit for hit in fired if hit.modifier is None]
    score = sum(map(_SCORE, ordinary))
    base = _base(ordinary, score, thresholds) or Basis(default, "default")
    modifiers = [hit for hit in fired if hit.modifier is not None]
    if not modifiers or not ordinary:
        return base.urgency, score, base
    tags: frozenset[str] = frozenset().union(*(hit.tags for hit in ordinary))
    raises = _acting(modifiers, "raise", tags, base.urgency)
    lowers = _acting(modifiers, "lower", tags, base.urgency)
    now = _lowered(base, lowers, ordinary, thresholds)
    if lowers:
        raises = [(hit, to) for hit, to in raises if hit.modifier is not None and not hit.modifier.yields]
    if not raises:
        return now.urgency, score, now
    top = max((to for _, to in raises), key=_RANK.__getitem__)
    if _RANK[top] <= _RANK[now.urgency]:
        return now.urgency, score, now
    if any(hit.modifier is not None and hit.modifier.final for hit, _ in lowers):
        return now.urgency, score, now
    holding = [hit for hit, _ in lowers if hit.modifier is not None and hit.modifier.holds]
    if holding:  # a statement of safety: the raise it stops is shown (``base`` is what it would give)
        names = tuple(hit.rule_id for hit in holding) + tuple(hit.rule_id for hit, to in raises if to is top)
        return now.urgency, score, Basis(now.urgency, "held", names, top)
    used = [hit for hit, to in raises if to is top]
    return top, score, Basis(top, "raised", _with_targets(used, ordinary), now.urgency)


def _lowered(
    base: Basis,
    lowers: Sequence[tuple[_Fired, Urgency]],
    ordinary: Sequence[_Fired],
    thresholds: Sequence[tuple[Urgency, int]],
) -> Basis:
    """``base`` after the acting lower modifiers: what the rules they name give is capped at
    their lowest ``to``; the rules they do not name keep what they give on their own."""
    if not lowers:
        return base
    bottom = min((to for _, to in lowers), key=_RANK.__getitem__)
    if _RANK[bottom] >= _RANK[base.urgency]:
        return base
    used = [hit for hit, to in lowers if to is bottom]
    kept = [hit for hit in ordinary if not any(_names(m, hit) for m in used)]
    kept_basis = _base(kept, sum(map(_SCORE, kept)), thresholds)
    if kept_basis is not None and _RANK[kept_basis.urgency] >= _RANK[bottom]:
        return kept_basis
    return Basis(bottom, "lowered", _with_targets(used, ordinary), base.urgency)


def _acting(
    modifiers: Sequence[_Fired], kind: ModifierKind, tags: frozenset[str], base: Urgency
) -> list[tuple[_Fired, Urgency]]:
    """The fired modifiers of ``kind`` that act on this message, with the urgency each goes to."""
    return [
        (hit, hit.modifier.to)
        for hit in modifiers
        if hit.modifier is not None and hit.modifier.kind == kind and hit.modifier.acts(tags, base)
    ]


def _names(modifier: _Fired, hit: _Fired) -> bool:
    """Whether ``modifier`` acts on the rule of ``hit`` (an empty ``acts_on`` names every rule)."""
    wanted = modifier.modifier.acts_on if modifier.modifier else frozenset()
    return not wanted or not wanted.isdisjoint(hit.tags)


def _base(ordinary: Sequence[_Fired], score: int, thresholds: Sequence[tuple[Urgency, int]]) -> Basis | None:
    """The urgency the ordinary rules give (floors and summed score), None if they give none."""
    floors = [hit for hit in ordinary if hit.urgency is not None]
    top = max((hit.urgency for hit in floors if hit.urgency), key=_RANK.__getitem__, default=None)
    reached = None
    if ordinary:
        passed = [urgency for urgency, minimum in thresholds if score >= minimum]
        reached = max(passed, key=_RANK.__getitem__) if passed else None
    if top is None and reached is None:
        return None
    if reached is not None and (top is None or _RANK[reached] > _RANK[top]):
        scorers = tuple(hit.rule_id for hit in ordinary if hit.score > 0)
        return Basis(reached, "score", scorers)
    assert top is not None
    return Basis(top, "floor", tuple(hit.rule_id for hit in floors if hit.urgency is top))


def _with_targets(modifiers: Sequence[_Fired], ordinary: Sequence[_Fired]) -> tuple[str, ...]:
    acted = [hit.rule_id for hit in ordinary if any(_names(m, hit) for m in modifiers)]
    return tuple(hit.rule_id for hit in modifiers) + tuple(acted)
