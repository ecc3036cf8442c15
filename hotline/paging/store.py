"""Escalations and the page outbox in SQLite: the durable half of paging.

Everything here runs on the writer thread inside a transaction, so an
escalation opens in the same commit as the message that caused it, a step's
pages enter the outbox in the same commit as the escalation's cursor moving
past it, and an acknowledgement cancels what is still pending in its own.
A restart (or ``kill -9``) finds exactly what was committed: open escalations
with their next due time, pending pages with their next attempt.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Mapping
from datetime import datetime

from .escalation import (
    Action,
    EscalationPlan,
    EscalationState,
    due_at,
    mark_sent,
    next_actions,
    plan_from_dict,
    plan_to_dict,
)

CODE_DIGITS = 4


def _code_taken(conn: sqlite3.Connection, code: str) -> bool:
    if conn.execute("SELECT 1 FROM escalations WHERE code = ? AND status = 'open'",
                    (code,)).fetchone() is not None:
        return True
    return conn.execute("SELECT 1 FROM page_summaries WHERE code = ? AND status IN"
                        " ('pending', 'sent')", (code,)).fetchone() is not None


def new_code(conn: sqlite3.Connection, digits: int = CODE_DIGITS) -> str:
    """A short number an advocate can text back, unique among open escalations and live
    summary pages (hotline.paging.coalesce).

    Probed through indexes, so the cost does not grow with the number of open
    escalations; ``digits`` while they are plentiful, six after.
    """
    for size, tries in ((digits, 20), (6, 50)):
        for _ in range(tries):
            code = f"{secrets.randbelow(10 ** size):0{size}d}"
            if not _code_taken(conn, code):
                return code
    raise RuntimeError("no free page code: too many open escalations")


def should_open(conn: sqlite3.Connection, tip_id: str, urgency_rank: int, previous_rank: int | None,
                was_acked: bool) -> bool:
    """One open escalation per tip; after an acknowledgement only a rise in urgency pages again."""
    if conn.execute("SELECT 1 FROM escalations WHERE tip_id = ? AND status = 'open'",
                    (tip_id,)).fetchone():
        return False
    return not (was_acked and previous_rank is not None and urgency_rank <= previous_rank)


_OPEN = (
    "INSERT INTO escalations (id, tip_id, code, plan, cursor, status, opened_at, next_due)"
    " SELECT ?,?,?,?,?,?,?,? WHERE NOT EXISTS (SELECT 1 FROM page_summaries WHERE code = ?"
    " AND status IN ('pending', 'sent')) ON CONFLICT (code) WHERE status = 'open' DO NOTHING")


def open_escalation(conn: sqlite3.Connection, tip_id: str, plan: EscalationPlan, opened_at: str,
                    people: Mapping[str, int], now: datetime) -> str:
    """Open it; a first step due now goes into the outbox in this same commit, so the
    worker can send it straight away, without a commit of its own in between.

    Three statements where it took eight or more: the row is inserted with its
    cursor already past the first step (worked out here, as ``record_step``
    would), its code checked free by the INSERT itself (the open codes' unique
    index, and a live summary's code by ``NOT EXISTS``: a taken code inserts
    nothing and the next is tried, as ``new_code`` did with two reads per
    try), then its audit lines and its first pages one INSERT each."""
    cursor, status, next_due = 0, "open", plan.started_at.timestamp()
    pages: list[tuple[Action, int]] = []
    if plan.started_at <= now:
        state = EscalationState()
        actions = next_actions(plan, state, now)
        after = mark_sent(plan, state, actions)
        if after.cursor > cursor:  # as record_step: the cursor only moves forward
            due = due_at(plan, after)
            pages = [(a, people[a.person]) for a in actions if a.person in people]
            cursor, next_due = after.cursor, (due.timestamp() if due else None)
            status = "open" if next_due is not None else "exhausted"
    code = _insert_with_free_code(conn, (plan.id, tip_id, "", json.dumps(plan_to_dict(plan)),
                                         cursor, status, opened_at, next_due))
    audit = [(opened_at, "paging", "page.opened", tip_id,
              f"urgency={plan.urgency.value} levels={len(plan.levels)}")]
    if status == "exhausted":
        audit.append((opened_at, "paging", "page.exhausted", tip_id, None))
    conn.execute("INSERT INTO audit (at, actor, action, tip_id, detail) VALUES "  # noqa: S608
                 + ",".join(["(?,?,?,?,?)"] * len(audit)), [v for row in audit for v in row])
    _insert_pages(conn, plan.id, pages, now, opened_at)
    return code


def _insert_with_free_code(conn: sqlite3.Connection, row: tuple[object, ...],
                           digits: int = CODE_DIGITS) -> str:
    """Insert the escalation ``row`` (its code left blank) under a free code; return the code."""
    for size, tries in ((digits, 20), (6, 50)):
        for _ in range(tries):
            code = f"{secrets.randbelow(10 ** size):0{size}d}"
            values = (*row[:2], code, *row[3:], code)
            if conn.execute(_OPEN, values).rowcount == 1:
                return code
    raise RuntimeError("no free page code: too many open escalations")


def _insert_pages(conn: sqlite3.Connection, escalation_id: str, actions: list[tuple[Action, int]],
                  now: datetime, stamp: str) -> int:
    """A step's pages in the outbox in one INSERT (a key already there is skipped)."""
    if not actions:
        return 0
    at = now.timestamp()
    rows = ",".join(["(?,?,?,?,?,?,?,'pending')"] * len(actions))  # placeholders only
    return int(conn.execute(
        "INSERT INTO page_outbox (key, escalation_id, advocate_id, level, repeat,"  # noqa: S608
        f" created_at, next_attempt, status) VALUES {rows} ON CONFLICT DO NOTHING",
        [v for action, advocate_id in actions
         for v in (action.key, escalation_id, advocate_id, action.level, action.repeat, stamp,
                   at)]).rowcount)


def load_escalation(row: sqlite3.Row | tuple) -> tuple[EscalationPlan, EscalationState]:  # type: ignore[type-arg]
    """(plan, state) from an ``escalations`` row selected as ``plan, cursor``."""
    plan = plan_from_dict(json.loads(row[0]))
    return plan, EscalationState(cursor=int(row[1]))


def record_step(conn: sqlite3.Connection, escalation_id: str, actions: list[tuple[Action, int]],
                new_cursor: int, next_due: float | None, now: datetime, stamp: str) -> int:
    """Put a step's pages in the outbox (a key already there is skipped) and move the cursor.

    Returns how many outbox rows were new. The cursor only moves forward: a
    worker that raced another (there is one, but restarts overlap) changes nothing.
    """
    row = conn.execute("SELECT cursor, status FROM escalations WHERE id = ?",
                       (escalation_id,)).fetchone()
    if row is None or row[1] != "open" or row[0] >= new_cursor:
        return 0
    added = _insert_pages(conn, escalation_id, actions, now, stamp)
    status = "open" if next_due is not None else "exhausted"
    conn.execute("UPDATE escalations SET cursor = ?, next_due = ?, status = ? WHERE id = ?",
                 (new_cursor, next_due, status, escalation_id))
    if status == "exhausted":
        conn.execute("INSERT INTO audit (at, actor, action, tip_id, detail) SELECT ?, 'paging',"
                     " 'page.exhausted', tip_id, NULL FROM escalations WHERE id = ?",
                     (stamp, escalation_id))
    return added


def acknowledge_escalations(conn: sqlite3.Connection, tip_id: str, advocate_id: int, via: str,
                            stamp: str) -> list[str]:
    """Stop the tip's escalations — running, or past their last level but unanswered — and cancel
    their pending pages. Returns their open times."""
    opened = [r[0] for r in conn.execute(
        "SELECT opened_at FROM escalations WHERE tip_id = ? AND status IN ('open', 'exhausted')",
        (tip_id,))]
    conn.execute("UPDATE page_outbox SET status = 'cancelled' WHERE status = 'pending' AND"
                 " escalation_id IN (SELECT id FROM escalations WHERE tip_id = ?"
                 " AND status IN ('open', 'exhausted'))",
                 (tip_id,))
    conn.execute("UPDATE escalations SET status = 'acknowledged', acked_at = ?, acked_by = ?,"
                 " acked_via = ?, next_due = NULL WHERE tip_id = ? AND status IN ('open', 'exhausted')",
                 (stamp, advocate_id, via, tip_id))
    return opened
