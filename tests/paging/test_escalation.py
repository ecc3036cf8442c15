"""Escalation: plan snapshots, the state machine in simulated time, when to page, parsing."""

from __future__ import annotations

import dataclasses
import json
import typing
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.paging.escalation import (
    Action,
    EscalationError,
    EscalationPlan,
    EscalationPolicy,
    EscalationState,
    Level,
    Page,
    PagingPolicy,
    TipChannel,
    TipRef,
    acknowledge,
    due_at,
    escalation_policy_from_dict,
    mark_sent,
    next_actions,
    paging_policy_from_dict,
    plan_from_dict,
    plan_to_dict,
    should_page,
    start,
)
from hotline.paging.oncall import Rotation, rotation_from_dict
from triage_rules import Urgency

T0 = datetime(2024, 3, 5, 15, 0, tzinfo=UTC)  # 10:00 in New York: bob's shift below
REF = TipRef("K7D-93M")
NY = ZoneInfo("America/New_York")


def rota() -> Rotation:
    return rotation_from_dict(
        {
            "advocates": ["alice", "bob", "carol"],
            "handoff": "09:00",
            "shift": "1d",
            "timezone": "America/New_York",
            "start": "2024-03-04",
        }
    )


def policy(repeat: int = 1) -> EscalationPolicy:
    return escalation_policy_from_dict(
        {"delay": "5m", "repeat": repeat, "levels": [{"targets": ["oncall"]}, {"targets": "bob,carol"}]}
    )


def run(
    plan: EscalationPlan, state: EscalationState, until: datetime, tick: timedelta = timedelta(seconds=30)
) -> tuple[list[tuple[timedelta, str]], EscalationState]:
    """A worker in simulated time: wake at due_at (or every tick), hand out, record."""
    sent: list[tuple[timedelta, str]] = []
    now = plan.started_at
    while now <= until:
        actions = next_actions(plan, state, now)
        state = mark_sent(plan, state, actions)
        sent += [(now - plan.started_at, a.key) for a in actions]
        nxt = due_at(plan, state)
        if nxt is None:
            break
        now = max(nxt, now + tick) if nxt <= now else nxt
    return sent, state


# --------------------------------------------------------------------------- full run


def test_full_run_level1_oncall_then_level2_then_repeat() -> None:
    plan = start(policy(repeat=1), rota(), REF, Urgency.CRITICAL, T0, plan_id="p1")
    assert [lvl.people for lvl in plan.levels] == [("bob",), ("bob", "carol")]
    sent, state = run(plan, EscalationState(), T0 + timedelta(hours=1))
    assert sent == [
        (timedelta(0), "p1:1:0:bob"),
        (timedelta(minutes=5), "p1:2:0:bob"),
        (timedelta(minutes=5), "p1:2:0:carol"),
        (timedelta(minutes=10), "p1:1:1:bob"),
        (timedelta(minutes=15), "p1:2:1:bob"),
        (timedelta(minutes=15), "p1:2:1:carol"),
    ]
    assert due_at(plan, state) is None  # exhausted: the worker stops looking


def test_actions_carry_step_and_page_without_content() -> None:
    plan = start(policy(), rota(), REF, Urgency.HIGH, T0, channel=TipChannel.SMS, plan_id="p1")
    [action] = next_actions(plan, EscalationState(), T0)
    assert action == Action(
        person="bob", level=1, repeat=0, due=T0, key="p1:1:0:bob",
        page=Page(REF, TipChannel.SMS, Urgency.HIGH, T0, 1),
    )  # fmt: skip


def test_acknowledgement_mid_way_stops_everything() -> None:
    plan = start(policy(repeat=2), rota(), REF, Urgency.CRITICAL, T0, plan_id="p1")
    state = mark_sent(plan, EscalationState(), next_actions(plan, EscalationState(), T0))
    assert due_at(plan, state) == T0 + timedelta(minutes=5)
    state = acknowledge(state, "bob", T0 + timedelta(minutes=3))
    assert state.acknowledged_by == "bob" and state.acknowledged_at == T0 + timedelta(minutes=3)
    assert due_at(plan, state) is None
    assert next_actions(plan, state, T0 + timedelta(hours=2)) == []
    # a second acknowledgement keeps the first
    assert acknowledge(state, "carol", T0 + timedelta(minutes=4)) == state


def test_acknowledge_before_any_page() -> None:
    plan = start(policy(), rota(), REF, Urgency.CRITICAL, T0, plan_id="p1")
    state = acknowledge(EscalationState(), "alice", T0)
    assert next_actions(plan, state, T0) == [] and due_at(plan, state) is None


def test_next_actions_is_idempotent_until_recorded() -> None:
    plan = start(policy(), rota(), REF, Urgency.CRITICAL, T0, plan_id="p1")
    state = EscalationState()
    first = next_actions(plan, state, T0 + timedelta(minutes=1))
    assert first == next_actions(plan, state, T0 + timedelta(minutes=1))  # crash before recording: same keys
    state = mark_sent(plan, state, first)
    assert next_actions(plan, state, T0 + timedelta(minutes=4)) == []
    assert mark_sent(plan, state, []) == state


def test_idempotency_keys_are_unique_per_person_and_step() -> None:
    plan = start(policy(repeat=3), rota(), REF, Urgency.CRITICAL, T0, plan_id="p1")
    sent, _ = run(plan, EscalationState(), T0 + timedelta(hours=2), tick=timedelta(seconds=7))
    keys = [k for _, k in sent]
    assert len(keys) == len(set(keys)) == 4 * 3
    assert {k.split(":")[0] for k in keys} == {"p1"}


def test_catch_up_after_downtime_pages_each_due_level_once_latest_pass_only() -> None:
    plan = start(policy(repeat=2), rota(), REF, Urgency.CRITICAL, T0, plan_id="p1")
    late = next_actions(plan, EscalationState(), T0 + timedelta(minutes=21))  # steps 0..4 due
    assert [a.key for a in late] == ["p1:2:1:bob", "p1:2:1:carol", "p1:1:2:bob"]
    state = mark_sent(plan, EscalationState(), late)
    assert due_at(plan, state) == T0 + timedelta(minutes=25)
    assert [a.key for a in next_actions(plan, state, T0 + timedelta(minutes=25))] == [
        "p1:2:2:bob",
        "p1:2:2:carol",
    ]


def test_plan_snapshot_is_unaffected_by_later_policy_and_rotation_edits() -> None:
    pol = policy()
    plan = start(pol, rota(), REF, Urgency.CRITICAL, T0, plan_id="p1")
    edited = dataclasses.replace(pol, levels=(Level(("dave",), timedelta(seconds=1)),), repeat=0)
    new_rota = dataclasses.replace(rota(), advocates=("erin",))
    assert start(edited, new_rota, REF, Urgency.CRITICAL, T0, plan_id="p1") != plan
    sent, _ = run(plan, EscalationState(), T0 + timedelta(hours=1))
    assert {k.split(":")[3] for _, k in sent} == {"bob", "carol"}
    assert plan_from_dict(json.loads(json.dumps(plan_to_dict(plan)))) == plan  # storable snapshot


def test_oncall_resolved_at_start_and_duplicates_in_a_level_dropped() -> None:
    pol = EscalationPolicy((Level(("oncall", "alice", "oncall"), timedelta(minutes=1)),))
    plan = start(pol, rota(), REF, Urgency.CRITICAL, datetime(2024, 3, 4, 20, tzinfo=UTC))
    assert plan.levels[0].people == ("alice",)  # alice is on call on the 4th, listed once
    assert plan.id.startswith("esc-")
    assert plan.id == start(pol, rota(), REF, Urgency.CRITICAL, datetime(2024, 3, 4, 20, tzinfo=UTC)).id


def test_oncall_without_rotation_is_an_error_but_named_levels_need_none() -> None:
    with pytest.raises(EscalationError, match=r"^levels: a level targets 'oncall'"):
        start(policy(), None, REF, Urgency.CRITICAL, T0)
    named = EscalationPolicy((Level(("bob",), timedelta(minutes=1)),))
    assert start(named, None, REF, Urgency.CRITICAL, T0).levels[0].people == ("bob",)


def test_zero_delays_make_every_level_due_at_once() -> None:
    pol = EscalationPolicy((Level(("a",), timedelta(0)), Level(("b",), timedelta(0))), repeat=1)
    plan = start(pol, None, REF, Urgency.CRITICAL, T0, plan_id="z")
    assert [a.key for a in next_actions(plan, EscalationState(), T0)] == ["z:1:1:a", "z:2:1:b"]


def test_naive_now_and_bad_plan_id_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        start(policy(), rota(), REF, Urgency.CRITICAL, datetime(2024, 3, 5, 12))
    with pytest.raises(ValueError, match="plan_id"):
        start(policy(), rota(), REF, Urgency.CRITICAL, T0, plan_id="a:b")


# --------------------------------------------------------------------------- page carries no content


def test_page_type_has_no_free_text_field() -> None:
    hints = typing.get_type_hints(Page)
    assert set(hints) == {"tip_ref", "channel", "urgency", "opened_at", "level"}
    assert str not in hints.values()
    assert typing.get_type_hints(TipRef) == {"value": str}


@pytest.mark.parametrize("text", ["I was trafficked from", "K7D-93M extra", "k7d-93m", "", "ABC-DE1"])
def test_tip_ref_refuses_anything_but_a_reference(text: str) -> None:
    with pytest.raises(ValueError, match="not a tip reference"):
        TipRef(text)


def test_page_refuses_wrong_types() -> None:
    with pytest.raises(TypeError, match="tip_ref"):
        Page("K7D-93M", TipChannel.WEB, Urgency.HIGH, T0, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="channel"):
        Page(REF, "sms", Urgency.HIGH, T0, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="urgency"):
        Page(REF, TipChannel.WEB, "high", T0, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="opened_at"):
        Page(REF, TipChannel.WEB, Urgency.HIGH, datetime(2024, 1, 1), 1)
    with pytest.raises(TypeError, match="level"):
        Page(REF, TipChannel.WEB, Urgency.HIGH, T0, 0)


# --------------------------------------------------------------------------- should_page


def paging(**change: object) -> PagingPolicy:
    data: dict[str, object] = {
        "page_at": "normal",
        "daytime_only": ["normal"],
        "day_start": "08:00",
        "day_end": "20:00",
        "timezone": "Europe/Madrid",
    }
    data.update(change)
    return paging_policy_from_dict(data)


def test_below_threshold_never_pages_and_above_pages_any_time() -> None:
    p = paging()
    night = datetime(2024, 6, 1, 1, 0, tzinfo=UTC)  # 03:00 in Madrid
    assert should_page(p, Urgency.LOW, night) is False
    assert should_page(p, Urgency.CRITICAL, night) is True
    assert should_page(p, Urgency.HIGH, night) is True


def test_daytime_only_urgency_waits_for_the_morning() -> None:
    p = paging()
    assert should_page(p, Urgency.NORMAL, datetime(2024, 6, 1, 1, 0, tzinfo=UTC)) == datetime(
        2024, 6, 1, 6, 0, tzinfo=UTC
    )  # 08:00 CEST the same day
    assert should_page(p, Urgency.NORMAL, datetime(2024, 6, 1, 19, 0, tzinfo=UTC)) == datetime(
        2024, 6, 2, 6, 0, tzinfo=UTC
    )  # 21:00 CEST: next morning
    assert should_page(p, Urgency.NORMAL, datetime(2024, 6, 1, 6, 0, tzinfo=UTC)) is True  # exactly 08:00
    at_end = should_page(
        p, Urgency.NORMAL, datetime(2024, 6, 1, 18, 0, tzinfo=UTC)
    )  # 20:00: the window is over
    assert at_end == datetime(2024, 6, 2, 6, 0, tzinfo=UTC)


def test_deferral_across_dst_and_into_a_gap() -> None:
    p = paging(day_start="02:30", day_end="20:00")
    # the night of the spring-forward change in Madrid: 02:30 does not exist, the jump (01:00 UTC) is used
    assert should_page(p, Urgency.NORMAL, datetime(2024, 3, 30, 23, 0, tzinfo=UTC)) == datetime(
        2024, 3, 31, 1, 0, tzinfo=UTC
    )


def test_window_across_midnight() -> None:
    p = paging(day_start="22:00", day_end="06:00")
    assert should_page(p, Urgency.NORMAL, datetime(2024, 1, 1, 23, 30, tzinfo=UTC)) is True  # 00:30 CET
    assert should_page(p, Urgency.NORMAL, datetime(2024, 1, 1, 12, 0, tzinfo=UTC)) == datetime(
        2024, 1, 1, 21, 0, tzinfo=UTC
    )


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)),
    st.sampled_from(["Europe/Madrid", "America/New_York", "Australia/Lord_Howe"]),
    st.times(),
    st.times(),
)
def test_a_deferred_page_is_paged_when_it_is_due(now: datetime, tz: str, a: time, b: time) -> None:
    if a == b:
        return
    p = PagingPolicy(Urgency.NORMAL, frozenset({Urgency.NORMAL}), a, b, ZoneInfo(tz))
    decision = should_page(p, Urgency.NORMAL, now)
    if isinstance(decision, datetime):
        assert decision > now
        assert decision - now <= timedelta(days=1, hours=1)
        assert should_page(p, Urgency.NORMAL, decision) is True


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, r"^escalation\.levels: is required"),
        ({"levels": []}, r"^escalation\.levels: an escalation policy needs at least one level"),
        ({"levels": [{"targets": ["oncall"]}]}, r"^escalation\.levels\[0\]\.delay: is required"),
        (
            {"levels": [{"targets": ["oncall"], "delay": "soon"}]},
            r"^escalation\.levels\[0\]\.delay: not a duration",
        ),
        ({"delay": "-5m", "levels": [{"targets": ["oncall"]}]}, r"^escalation\.delay: not a duration"),
        ({"delay": "5m", "levels": [{"targets": []}]}, r"^escalation\.levels\[0\]\.targets: a level needs"),
        ({"delay": "5m", "levels": [{"targets": "bob,"}]}, r"^escalation\.levels\[0\]\.targets\[1\]: "),
        ({"delay": "5m", "levels": [{}]}, r"^escalation\.levels\[0\]\.targets: is required"),
        (
            {"delay": "5m", "levels": [{"targets": "bob", "wait": 1}]},
            r"^escalation\.levels\[0\]\.wait: unknown",
        ),
        ({"delay": "5m", "levels": ["bob"]}, r"^escalation\.levels\[0\]: must be a table"),
        (
            {"delay": "5m", "repeat": 11, "levels": [{"targets": "bob"}]},
            r"^escalation\.repeat: a whole number",
        ),
        (
            {"delay": "5m", "repeat": True, "levels": [{"targets": "bob"}]},
            r"^escalation\.repeat: a whole number",
        ),
        ({"levels": [{"targets": "bob"}], "levles": 1}, r"^escalation\.levles: unknown key"),
    ],
)
def test_escalation_parse_errors_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(EscalationError, match=message):
        escalation_policy_from_dict(data)


def test_escalation_parse_per_level_delay_and_units() -> None:
    pol = escalation_policy_from_dict(
        {"delay": "5m", "levels": [{"targets": "oncall", "delay": "30s"}, {"targets": ["bob", "carol"]}]}
    )
    assert pol == EscalationPolicy(
        (Level(("oncall",), timedelta(seconds=30)), Level(("bob", "carol"), timedelta(minutes=5))), 0
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"page_at": "urgent"}, r"^paging\.page_at: unknown urgency 'urgent'"),
        ({"page_at": 3}, r"^paging\.page_at: an urgency name"),
        ({"daytime_only": ["low"]}, r"^paging\.daytime_only: low is below page_at"),
        ({"daytime_only": "normal"}, r"^paging\.daytime_only: must be a list"),
        ({"day_start": "8"}, r"^paging\.day_start: not a time of day"),
        ({"day_end": "08:00"}, r"^paging\.day_end: must differ from day_start"),
        ({"timezone": "Madrid"}, r"^paging\.timezone: unknown time zone"),
        ({"nights": True}, r"^paging\.nights: unknown key"),
    ],
)
def test_paging_parse_errors_name_the_key(change: dict[str, object], message: str) -> None:
    with pytest.raises(EscalationError, match=message):
        paging(**change)


def test_paging_parse_defaults() -> None:
    p = paging_policy_from_dict({"page_at": "high", "timezone": "America/New_York"})
    assert p == PagingPolicy(Urgency.HIGH, frozenset(), time(8), time(20), NY)


def test_level_and_policy_value_checks() -> None:
    with pytest.raises(EscalationError, match=r"^targets: a level needs"):
        Level((), timedelta(0))
    with pytest.raises(EscalationError, match=r"^delay: must not be negative"):
        Level(("bob",), timedelta(seconds=-1))
    with pytest.raises(EscalationError, match=r"^levels: an escalation policy needs"):
        EscalationPolicy(())
    with pytest.raises(EscalationError, match=r"^by: "):
        acknowledge(EscalationState(), "", T0)


# --------------------------------------------------------------------------- properties


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 600), min_size=1, max_size=4),
    st.integers(0, 3),
    st.integers(1, 400),
    st.one_of(st.none(), st.integers(0, 4000)),
)
def test_any_run_pages_no_one_twice_for_a_step_and_stops_at_ack(
    delays: list[int], repeat: int, tick: int, ack_after: int | None
) -> None:
    pol = EscalationPolicy(
        tuple(
            Level(("oncall", f"p{i}") if i else ("oncall",), timedelta(seconds=d))
            for i, d in enumerate(delays)
        ),
        repeat,
    )
    plan = start(pol, rota(), REF, Urgency.CRITICAL, T0, plan_id="p")
    state, now, keys = EscalationState(), T0, []
    ack_at = None if ack_after is None else T0 + timedelta(seconds=ack_after)
    while now <= T0 + timedelta(hours=4):
        if ack_at is not None and now >= ack_at:
            state = acknowledge(state, "bob", now)
        actions = next_actions(plan, state, now)
        assert all(a.due <= now for a in actions)
        keys += [a.key for a in actions]
        state = mark_sent(plan, state, actions)
        now += timedelta(seconds=tick)
    assert len(keys) == len(set(keys))
    if ack_at is None:
        assert due_at(plan, state) is None
        assert f"p:{len(delays)}:{repeat}:bob" in keys  # the last step always goes out
    if ack_at is not None and ack_at <= T0:
        assert keys == []
