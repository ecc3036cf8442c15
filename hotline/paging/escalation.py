"""Escalation: whether a tip pages at all, whom, and what happens while nobody acknowledges.

Pure. ``start`` resolves the policy into an :class:`EscalationPlan` snapshot
(who is on call *now*, the named people, the delays), so an admin editing the
policy or the rotation mid-escalation changes nothing for an escalation
already running. The plan is a fixed schedule of *steps*: pass ``repeat`` =
0..policy.repeat, level 1..n in each pass. Step 0 is due at the start; each
next step is due the level's ``delay`` after the previous one.

The worker loop around it (not here) is::

    actions = next_actions(plan, state, now)   # due, not yet handed out
    # one transaction: insert actions into the outbox (unique on action.key)
    #                  and store mark_sent(state, actions)
    sleep until due_at(plan, state) or an acknowledgement arrives

Catch-up rule: if the worker was away for several steps, every due level is
paged once, with only the latest due pass of each level (nobody gets three
stale repeats at once). Skipped steps are never sent later.

A page never carries content: :class:`Page` holds a validated tip reference,
the tip's channel, its urgency, the time and the level - no free text.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from triage_rules import Urgency

from .oncall import (
    PagingConfigError,
    Rotation,
    _as_list,
    _as_mapping,
    _check_keys,
    _parse_duration_key,
    check_advocate_name,
    local_instant,
    parse_time_of_day,
    parse_zone,
    who_is_on_call,
)

__all__ = [
    "MAX_REPEAT",
    "ONCALL",
    "Action",
    "EscalationError",
    "EscalationPlan",
    "EscalationPolicy",
    "EscalationState",
    "Level",
    "Page",
    "PagingPolicy",
    "PlannedLevel",
    "TipChannel",
    "TipRef",
    "acknowledge",
    "due_at",
    "escalation_policy_from_dict",
    "mark_sent",
    "next_actions",
    "paging_policy_from_dict",
    "plan_from_dict",
    "plan_to_dict",
    "should_page",
    "start",
]

ONCALL = "oncall"
"""The target meaning "whoever the rotation has on call when the escalation starts"."""

MAX_REPEAT = 10


class EscalationError(PagingConfigError):
    """The escalation or paging policy is invalid."""


# --------------------------------------------------------------------------- page contents


_TIP_REF = re.compile(r"[23456789ABCDEFGHJKMNPQRSTVWXYZ]{3}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{3}")


@dataclass(frozen=True)
class TipRef:
    """A short tip reference such as ``K7D-93M`` (hotline.domain.new_tip_ref); nothing else fits."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _TIP_REF.fullmatch(self.value):
            raise ValueError("not a tip reference (expected e.g. K7D-93M)")

    def __str__(self) -> str:
        return self.value


class TipChannel(enum.Enum):
    """The channel a tip came in on. Mirrors hotline.domain.Channel (not imported: pure package)."""

    WEB = "web"
    SMS = "sms"
    VOICE = "voice"
    WHATSAPP = "whatsapp"


@dataclass(frozen=True)
class Page:
    """Everything a page may say. Every field has a closed type: no free text can ride along."""

    tip_ref: TipRef
    channel: TipChannel
    urgency: Urgency
    opened_at: datetime
    level: int

    def __post_init__(self) -> None:
        if not isinstance(self.tip_ref, TipRef):
            raise TypeError("Page.tip_ref must be a TipRef")
        if not isinstance(self.channel, TipChannel):
            raise TypeError("Page.channel must be a TipChannel")
        if not isinstance(self.urgency, Urgency):
            raise TypeError("Page.urgency must be an Urgency")
        if not isinstance(self.opened_at, datetime) or self.opened_at.tzinfo is None:
            raise TypeError("Page.opened_at must be an aware datetime")
        if not isinstance(self.level, int) or isinstance(self.level, bool) or self.level < 1:
            raise TypeError("Page.level must be a level number from 1")


@dataclass(frozen=True)
class Action:
    """Page ``person`` for step (``level``, ``repeat``). ``key`` is unique per person and step."""

    person: str
    level: int
    repeat: int
    due: datetime
    key: str
    page: Page


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class Level:
    """Targets (``"oncall"`` or advocate names), and how long to wait before the next level."""

    targets: tuple[str, ...]
    delay: timedelta

    def __post_init__(self) -> None:
        if not self.targets:
            raise EscalationError("targets", "a level needs at least one target")
        for i, target in enumerate(self.targets):
            check_advocate_name(target, f"targets[{i}]", EscalationError)
        if self.delay < timedelta(0):
            raise EscalationError("delay", "must not be negative")


@dataclass(frozen=True)
class EscalationPolicy:
    """Levels paged one after another; the whole chain runs ``repeat`` more times unacknowledged."""

    levels: tuple[Level, ...]
    repeat: int = 0

    def __post_init__(self) -> None:
        if not self.levels:
            raise EscalationError("levels", "an escalation policy needs at least one level")
        if isinstance(self.repeat, bool) or not 0 <= self.repeat <= MAX_REPEAT:
            raise EscalationError("repeat", f"a whole number from 0 to {MAX_REPEAT}")

    @property
    def uses_oncall(self) -> bool:
        return any(ONCALL in level.targets for level in self.levels)


@dataclass(frozen=True)
class PlannedLevel:
    """A level as resolved when the escalation started: people, not targets."""

    people: tuple[str, ...]
    delay: timedelta


@dataclass(frozen=True)
class EscalationPlan:
    """The snapshot an escalation runs on; later edits to policy or rotation do not reach it."""

    id: str
    tip_ref: TipRef
    channel: TipChannel
    urgency: Urgency
    started_at: datetime
    levels: tuple[PlannedLevel, ...]
    repeat: int

    @property
    def step_count(self) -> int:
        return len(self.levels) * (self.repeat + 1)

    def step(self, index: int) -> tuple[int, int]:
        """(level from 1, repeat from 0) of step ``index``."""
        repeat, level = divmod(index, len(self.levels))
        return level + 1, repeat

    def step_due(self, index: int) -> datetime:
        delays = [lvl.delay for lvl in self.levels]
        full, rest = divmod(index, len(delays))
        return self.started_at + full * sum(delays, timedelta(0)) + sum(delays[:rest], timedelta(0))


@dataclass(frozen=True)
class EscalationState:
    """How far an escalation got: ``cursor`` steps handed out, and who acknowledged when."""

    cursor: int = 0
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None


def _utc(value: datetime, key: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{key} must be an aware datetime")
    return value.astimezone(UTC)


def _resolve(target: str, oncall: str | None) -> str:
    return oncall if target == ONCALL and oncall is not None else target


def _dedupe(names: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def start(
    policy: EscalationPolicy,
    rotation: Rotation | None,
    tip_ref: TipRef,
    urgency: Urgency,
    now: datetime,
    *,
    channel: TipChannel = TipChannel.WEB,
    plan_id: str | None = None,
) -> EscalationPlan:
    """Snapshot ``policy`` for one tip at ``now``: ``"oncall"`` becomes today's person.

    ``plan_id`` defaults to a digest of the tip reference and start time.
    """
    now = _utc(now, "now")
    if policy.uses_oncall and rotation is None:
        raise EscalationError("levels", "a level targets 'oncall' but no rotation is configured")
    oncall = who_is_on_call(rotation, now).advocate if rotation is not None else None
    levels = tuple(
        PlannedLevel(_dedupe([_resolve(t, oncall) for t in lvl.targets]), lvl.delay) for lvl in policy.levels
    )
    if plan_id is None:
        digest = hashlib.sha256(f"{tip_ref.value}|{now.isoformat()}".encode()).hexdigest()[:16]
        plan_id = f"esc-{digest}"
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", plan_id):
        raise ValueError("plan_id: letters, digits, '.', '-' and '_' only")
    return EscalationPlan(plan_id, tip_ref, channel, urgency, now, levels, policy.repeat)


# --------------------------------------------------------------------------- state machine


def _due_steps(plan: EscalationPlan, state: EscalationState, now: datetime) -> range:
    end = state.cursor
    while end < plan.step_count and plan.step_due(end) <= now:
        end += 1
    return range(state.cursor, end)


def next_actions(plan: EscalationPlan, state: EscalationState, now: datetime) -> list[Action]:
    """The pages due by ``now`` and not yet handed out; ``[]`` once acknowledged.

    Asking twice without :func:`mark_sent` gives the same actions (same keys),
    so a crash between asking and recording sends nothing twice.
    """
    now = _utc(now, "now")
    if state.acknowledged:
        return []
    latest: dict[int, int] = {}  # level -> latest due step of it
    for index in _due_steps(plan, state, now):
        latest[plan.step(index)[0]] = index
    actions: list[Action] = []
    for index in sorted(latest.values()):
        level, repeat = plan.step(index)
        page = Page(plan.tip_ref, plan.channel, plan.urgency, plan.started_at, level)
        due = plan.step_due(index)
        for person in plan.levels[level - 1].people:
            key = f"{plan.id}:{level}:{repeat}:{person}"
            actions.append(Action(person, level, repeat, due, key, page))
    return actions


def mark_sent(plan: EscalationPlan, state: EscalationState, actions: list[Action]) -> EscalationState:
    """The state after ``actions`` (from :func:`next_actions`) are safely in the outbox."""
    if not actions:
        return state
    last = max(a.repeat * len(plan.levels) + a.level - 1 for a in actions)
    return replace(state, cursor=max(state.cursor, last + 1))


def acknowledge(state: EscalationState, by: str, now: datetime) -> EscalationState:
    """Stop the escalation for everyone. The first acknowledgement is the one kept."""
    if state.acknowledged:
        return state
    check_advocate_name(by, "by", EscalationError)
    return replace(state, acknowledged_by=by, acknowledged_at=_utc(now, "now"))


def due_at(plan: EscalationPlan, state: EscalationState) -> datetime | None:
    """When the worker should next look at this escalation; None when it is over."""
    if state.acknowledged or state.cursor >= plan.step_count:
        return None
    return plan.step_due(state.cursor)


# --------------------------------------------------------------------------- when to page


@dataclass(frozen=True)
class PagingPolicy:
    """Page at ``page_at`` or above; urgencies in ``daytime_only`` wait for ``[day_start, day_end)``."""

    page_at: Urgency
    daytime_only: frozenset[Urgency]
    day_start: time
    day_end: time
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if self.day_start == self.day_end:
            raise EscalationError("day_end", "must differ from day_start")
        for urgency in self.daytime_only:
            if urgency < self.page_at:
                raise EscalationError(
                    "daytime_only", f"{urgency} is below page_at ({self.page_at}) and never pages anyway"
                )


def _in_day(policy: PagingPolicy, clock: time) -> bool:
    if policy.day_start < policy.day_end:
        return policy.day_start <= clock < policy.day_end
    return clock >= policy.day_start or clock < policy.day_end  # a window across midnight


def should_page(policy: PagingPolicy, urgency: Urgency, now: datetime) -> bool | datetime:
    """True: page now. False: never page for this urgency. A datetime (UTC): page then.

    The deferred instant is the next ``day_start`` in ``policy.tz`` under the
    rotation's DST rule (a day start skipped by a DST jump means the jump).
    """
    now = _utc(now, "now")
    if urgency < policy.page_at:
        return False
    if urgency not in policy.daytime_only:
        return True
    local = now.astimezone(policy.tz)
    if _in_day(policy, local.time().replace(tzinfo=None)):
        return True
    day = local.date()
    for offset in (0, 1, 2):
        candidate = local_instant(datetime.combine(day + timedelta(days=offset), policy.day_start), policy.tz)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: a day start follows within two days")  # pragma: no cover


# --------------------------------------------------------------------------- parsing


def _parse_targets(value: object, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items: list[object] = [part.strip() for part in value.split(",")]
    else:
        items = list(_as_list(value, key, EscalationError))
    if not items:
        raise EscalationError(key, "a level needs at least one target")
    return tuple(check_advocate_name(t, f"{key}[{i}]", EscalationError) for i, t in enumerate(items))


def escalation_policy_from_dict(data: object, *, where: str = "escalation") -> EscalationPolicy:
    """A policy from its TOML table, raising EscalationError naming the bad key.

    ``levels`` (list of tables with ``targets`` - a list or "bob,carol" - and
    an optional ``delay``), ``delay`` (default for levels, e.g. "5m"),
    ``repeat`` (0-10).
    """
    table = _as_mapping(data, where, EscalationError)
    _check_keys(table, {"levels", "delay", "repeat"}, where, EscalationError)
    if "levels" not in table:
        raise EscalationError(f"{where}.levels", "is required")
    default = table.get("delay")
    raw_levels = _as_list(table["levels"], f"{where}.levels", EscalationError)
    if not raw_levels:
        raise EscalationError(f"{where}.levels", "an escalation policy needs at least one level")
    levels = []
    for i, raw in enumerate(raw_levels):
        key = f"{where}.levels[{i}]"
        level = _as_mapping(raw, key, EscalationError)
        _check_keys(level, {"targets", "delay"}, key, EscalationError)
        if "targets" not in level:
            raise EscalationError(f"{key}.targets", "is required")
        delay_value = level.get("delay", default)
        delay_key = f"{key}.delay" if "delay" in level else f"{where}.delay"
        if delay_value is None:
            raise EscalationError(f"{key}.delay", f"is required (or set {where}.delay for all levels)")
        delay = _parse_duration_key(delay_value, delay_key, EscalationError)
        levels.append(Level(_parse_targets(level["targets"], f"{key}.targets"), delay))
    repeat = table.get("repeat", 0)
    if not isinstance(repeat, int) or isinstance(repeat, bool) or not 0 <= repeat <= MAX_REPEAT:
        raise EscalationError(f"{where}.repeat", f"a whole number from 0 to {MAX_REPEAT}, got {repeat!r}")
    return EscalationPolicy(tuple(levels), repeat)


def _parse_urgency(value: object, key: str) -> Urgency:
    if not isinstance(value, str):
        raise EscalationError(key, f"an urgency name, got {value!r}")
    try:
        return Urgency.parse(value)
    except ValueError as exc:
        raise EscalationError(key, str(exc)) from exc


def paging_policy_from_dict(data: object, *, where: str = "paging") -> PagingPolicy:
    """When to page, from its TOML table.

    ``page_at`` (urgency), ``daytime_only`` (list of urgencies), ``day_start``
    and ``day_end`` (default 08:00 and 20:00), ``timezone`` (IANA name).
    """
    table = _as_mapping(data, where, EscalationError)
    allowed = {"page_at", "daytime_only", "day_start", "day_end", "timezone"}
    _check_keys(table, allowed, where, EscalationError)
    for required in ("page_at", "timezone"):
        if required not in table:
            raise EscalationError(f"{where}.{required}", "is required")
    page_at = _parse_urgency(table["page_at"], f"{where}.page_at")
    raw_daytime = _as_list(table.get("daytime_only", []), f"{where}.daytime_only", EscalationError)
    daytime = frozenset(_parse_urgency(u, f"{where}.daytime_only[{i}]") for i, u in enumerate(raw_daytime))
    day_start = parse_time_of_day(table.get("day_start", "08:00"), f"{where}.day_start", EscalationError)
    day_end = parse_time_of_day(table.get("day_end", "20:00"), f"{where}.day_end", EscalationError)
    tz = parse_zone(table["timezone"], f"{where}.timezone", EscalationError)
    try:
        return PagingPolicy(page_at, daytime, day_start, day_end, tz)
    except EscalationError as exc:
        raise EscalationError(f"{where}.{exc.key}", exc.problem) from exc


# --------------------------------------------------------------------------- storage shape


def plan_to_dict(plan: EscalationPlan) -> dict[str, object]:
    """The plan as JSON-ready data, for the store to keep beside the escalation."""
    return {
        "id": plan.id,
        "tip_ref": plan.tip_ref.value,
        "channel": plan.channel.value,
        "urgency": plan.urgency.value,
        "started_at": plan.started_at.isoformat(),
        "levels": [{"people": list(lvl.people), "delay_s": lvl.delay.total_seconds()} for lvl in plan.levels],
        "repeat": plan.repeat,
    }


def plan_from_dict(data: Mapping[str, object]) -> EscalationPlan:
    """The inverse of :func:`plan_to_dict`."""
    levels = []
    for raw in _as_list(data["levels"], "levels", EscalationError):
        level = _as_mapping(raw, "levels[]", EscalationError)
        people = tuple(str(p) for p in _as_list(level["people"], "people", EscalationError))
        delay_s = level["delay_s"]
        if not isinstance(delay_s, int | float):
            raise EscalationError("levels[].delay_s", "must be a number")
        levels.append(PlannedLevel(people, timedelta(seconds=delay_s)))
    repeat = data["repeat"]
    if not isinstance(repeat, int):
        raise EscalationError("repeat", "must be a whole number")
    return EscalationPlan(
        id=str(data["id"]),
        tip_ref=TipRef(str(data["tip_ref"])),
        channel=TipChannel(data["channel"]),
        urgency=Urgency.parse(str(data["urgency"])),
        started_at=datetime.fromisoformat(str(data["started_at"])),
        levels=tuple(levels),
        repeat=repeat,
    )
