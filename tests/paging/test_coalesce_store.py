"""Coalescing decided on a real, migrated database (SQLite and PostgreSQL) with the clock passed in:
which page goes out at once, which waits, when a window closes into one summary,
and that acknowledging a tip takes its held page out of the summary."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotline.domain import new_tip_id, new_tip_ref
from hotline.paging.ack import record_ack
from hotline.paging.coalesce import Folded, coalesce, fold_new, summarise_due
from hotline.paging.escalation import EscalationPolicy, Level, TipRef, start
from hotline.paging.store import open_escalation
from hotline.store.factory import connect_sync
from tests.helpers import store
from tests.helpers.instance import make_instance
from triage_rules import Urgency

pytestmark = pytest.mark.both_stores

T0 = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
WINDOW = 120.0
POLICY = EscalationPolicy((Level(("alice",), timedelta(minutes=5)), Level(("bob",), timedelta(0))))


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    inst = make_instance(tmp_path)
    c = connect_sync(store.target(inst.root))  # autocommit, like the test always used
    try:
        yield c
    finally:
        c.close()


def _people(conn: sqlite3.Connection) -> dict[str, int]:
    return {name: i for i, name in conn.execute("SELECT id, name FROM advocates")}


def _tip(conn: sqlite3.Connection, at: datetime, urgency: Urgency = Urgency.CRITICAL) -> str:
    """A tip and its escalation, through the same enqueue function intake uses."""
    tip_id, ref, stamp = new_tip_id(), new_tip_ref(), at.isoformat()
    conn.execute("INSERT INTO tips (id, ref, channel, urgency, urgency_source, status, created_at,"
                 " updated_at) VALUES (?,?,'web',?,'rules','new',?,?)",
                 (tip_id, ref, urgency.value, stamp, stamp))
    plan = start(POLICY, None, TipRef(ref), urgency, at)
    open_escalation(conn, tip_id, plan, stamp, _people(conn), at)
    return tip_id


def _rows(conn: sqlite3.Connection) -> list[tuple[str, str | None, int | None]]:
    return conn.execute("SELECT t.id, o.fold, o.summary_id FROM page_outbox o JOIN escalations e"
                        " ON e.id = o.escalation_id JOIN tips t ON t.id = e.tip_id"
                        " ORDER BY o.id").fetchall()


def test_first_page_goes_at_once_the_rest_wait_for_the_window(conn: sqlite3.Connection) -> None:
    tips = [_tip(conn, T0 + timedelta(seconds=i)) for i in range(30)]
    now = (T0 + timedelta(seconds=30)).timestamp()
    folded = fold_new(conn, now, WINDOW)
    assert (folded.direct, folded.held) == (1, 29)
    rows = _rows(conn)
    assert rows[0] == (tips[0], "direct", None)
    assert all(fold == "held" for _, fold, _ in rows[1:])
    # Held until the window closes; nothing is summarised a moment before it.
    due = conn.execute("SELECT DISTINCT next_attempt FROM page_outbox WHERE fold = 'held'").fetchall()
    assert due == [(now + WINDOW,)]
    assert summarise_due(conn, now + WINDOW - 1, WINDOW, "x").summaries == 0
    # At the close: one summary carrying all 29, and the next window opens.
    closed = summarise_due(conn, now + WINDOW, WINDOW, "x")
    assert closed.summaries == 1
    assert conn.execute("SELECT COUNT(DISTINCT summary_id), COUNT(*) FROM page_outbox"
                        " WHERE summary_id IS NOT NULL").fetchone() == (1, 29)
    assert conn.execute("SELECT until FROM page_windows").fetchone() == (now + 2 * WINDOW,)
    # Asking again changes nothing: a summary is made once.
    assert summarise_due(conn, now + WINDOW, WINDOW, "x").summaries == 0
    assert conn.execute("SELECT COUNT(*) FROM page_summaries").fetchone() == (1,)
    # Pages after the summary wait for the window the summary opened.
    _tip(conn, T0 + timedelta(seconds=200))
    assert fold_new(conn, now + WINDOW + 5, WINDOW).held == 1


def test_a_critical_is_not_held_behind_a_high(conn: sqlite3.Connection) -> None:
    _tip(conn, T0, Urgency.HIGH)
    critical = _tip(conn, T0 + timedelta(seconds=1), Urgency.CRITICAL)
    fold_new(conn, T0.timestamp() + 2, WINDOW)
    direct = [tip for tip, fold, _ in _rows(conn) if fold == "direct"]
    assert direct == [critical]


def test_one_held_page_goes_out_as_itself(conn: sqlite3.Connection) -> None:
    _tip(conn, T0)
    _tip(conn, T0 + timedelta(seconds=1))
    fold_new(conn, T0.timestamp() + 1, WINDOW)
    closed = summarise_due(conn, T0.timestamp() + 1 + WINDOW, WINDOW, "x")
    assert (closed.direct, closed.summaries) == (1, 0)
    assert [fold for _, fold, _ in _rows(conn)] == ["direct", "direct"]


def test_a_window_of_zero_turns_coalescing_off(conn: sqlite3.Connection) -> None:
    for i in range(5):
        _tip(conn, T0 + timedelta(seconds=i))
    assert fold_new(conn, T0.timestamp() + 5, 0).direct == 5


def test_each_person_has_their_own_window(conn: sqlite3.Connection) -> None:
    """Escalation pages to the next level coalesce in that person's window, not alice's."""
    for i in range(4):
        _tip(conn, T0 + timedelta(seconds=i))
    fold_new(conn, T0.timestamp() + 4, WINDOW)
    # Level 2 (bob) is due 5 minutes later for every tip: the worker records those steps.
    from hotline.paging.escalation import due_at, mark_sent, next_actions
    from hotline.paging.store import load_escalation, record_step
    later = T0 + timedelta(minutes=6)
    people = _people(conn)
    for eid, plan, cursor in conn.execute("SELECT id, plan, cursor FROM escalations").fetchall():
        p, state = load_escalation((plan, cursor))
        actions = next_actions(p, state, later)
        after = mark_sent(p, state, actions)
        due = due_at(p, after)
        record_step(conn, eid, [(a, people[a.person]) for a in actions], after.cursor,
                    due.timestamp() if due else None, later, "x")
    folded = fold_new(conn, later.timestamp(), WINDOW)
    assert (folded.direct, folded.held) == (1, 3)  # bob: one at once, three for his summary


def test_an_acknowledged_tip_leaves_the_pending_summary(conn: sqlite3.Connection) -> None:
    tips = [_tip(conn, T0 + timedelta(seconds=i)) for i in range(4)]
    fold_new(conn, T0.timestamp() + 4, WINDOW)
    record_ack(conn, tips[2], _people(conn)["alice"], actor="alice", via="api")
    summarise_due(conn, T0.timestamp() + 4 + WINDOW, WINDOW, "x")
    carried = conn.execute("SELECT t.id FROM page_outbox o JOIN escalations e ON e.id ="
                           " o.escalation_id JOIN tips t ON t.id = e.tip_id WHERE o.summary_id"
                           " IS NOT NULL AND o.status = 'pending' ORDER BY o.id").fetchall()
    assert [t for (t,) in carried] == [tips[1], tips[3]]


def test_a_window_closing_while_pages_arrive_sends_only_its_summary(conn: sqlite3.Connection) -> None:
    """The flood goes on as the window closes: one notification (the summary), and the
    newcomers wait for the next window - not a summary *and* a fresh page at once."""
    for i in range(3):
        _tip(conn, T0 + timedelta(seconds=i))
    start_at = T0.timestamp() + 3
    assert coalesce(conn, start_at, WINDOW, "x").direct == 1
    late = _tip(conn, T0 + timedelta(seconds=3 + WINDOW))
    turn = coalesce(conn, start_at + WINDOW, WINDOW, "x")
    assert (turn.summaries, turn.direct, turn.held) == (1, 0, 1)
    assert [f for t, f, _ in _rows(conn) if t == late] == ["held"]


def test_a_pass_over_more_pages_than_one_statement_holds_folds_every_one(
        conn: sqlite3.Connection) -> None:
    """Pages are marked by id lists (hotline/paging/coalesce.py, ``_set_fold``), several
    statements when a pass holds more than one list takes: none is left out or marked twice."""
    tips = [_tip(conn, T0 + timedelta(milliseconds=i)) for i in range(1203)]
    now = (T0 + timedelta(seconds=30)).timestamp()
    folded = fold_new(conn, now, WINDOW)
    assert (folded.direct, folded.held) == (1, 1202)
    rows = _rows(conn)
    assert [t for t, _, _ in rows] == tips
    assert rows[0][1] == "direct" and all(fold == "held" for _, fold, _ in rows[1:])
    assert conn.execute("SELECT next_attempt, COUNT(*) FROM page_outbox WHERE fold = 'held'"
                        " GROUP BY next_attempt").fetchall() == [(now + WINDOW, 1202)]
    more = [_tip(conn, T0 + timedelta(seconds=40 + i)) for i in range(3)]
    assert fold_new(conn, now, 0.0) == Folded(3, 0, 0)  # no window: every new page at once
    assert [fold for t, fold, _ in _rows(conn) if t in more] == ["direct"] * 3
