"""A reporter's own deletion request: a grace period, a content-free page, a hold.

Why: the reporter's phone may be in an abuser's hands, and a caller ID can be
spoofed. One SMS "DELETE" must not shred a report in the same second, unread.
So a request from a reporter (SMS/WhatsApp keyword, follow-up page):

- is recorded ``pending``, due ``ops.deletion_grace`` later (default 72 h);
- pages the advocates on the tip (or, if nobody active is, whoever the paging
  policy would page now) through the ordinary escalation outbox, with a page
  that says only "deletion requested for tip REF" (``DELETION_PAGE_PREFIX``);
- can be ``held`` by an advocate on the tip (and released again);
- is ``cancelled`` by any later message from the reporter (``reporter_wrote``,
  called by the intake in the message's own transaction);
- when due and still pending, is claimed ``done`` in one writer job (so a hold
  racing it is serialised) and executed by the retention pass with the usual
  crypto-shredding: key first, then rows.

Repeats while a request is pending or held change nothing but a counter: a
stream of spoofed DELETEs neither resets the clock nor pages again. Every
change is audited, metadata only. An administrator's own deletion
(``hotline retention delete``: via ``cli``/``api``) has no grace period and is
not cancelled by a reporter's message.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from triage_rules import Urgency

from .errors import Conflict
from .logging import get_logger
from .paging.directory import Directory, load_directory
from .paging.escalation import EscalationPlan, EscalationPolicy, Level
from .paging.notifiers import DELETION_PAGE_PREFIX
from .paging.store import open_escalation
from .store.queries import audit, utc_now_text
from .store.seam import Store

REPORTER_VIA = ("sms", "whatsapp", "web")
"""How a reporter asks (metadata only: stored and audited)."""
ADMIN_VIA = ("cli", "api")
"""An administrator's deletion: due at once, never cancelled by a reporter's message."""
OPEN_STATES = ("pending", "held")


@dataclass(frozen=True)
class RequestState:
    """What an advocate sees of a tip's deletion request (never content, never a number)."""

    state: str
    via: str
    requested_at: str
    effective_at: str
    held_by: str | None
    held_at: str | None
    repeats: int

    def as_json(self) -> dict[str, Any]:
        return {"state": self.state, "via": self.via, "requested_at": self.requested_at,
                "effective_at": self.effective_at, "held_by": self.held_by,
                "held_at": self.held_at, "repeats": self.repeats}


def _stamp(at: datetime) -> str:
    return utc_now_text(at)


# -- the reporter asks -------------------------------------------------------------


async def request_by_reporter(db: Store, tip_id: str, via: str, *, grace: float,
                              default_delay: float, now: datetime | None = None) -> bool:
    """Record a reporter's request; True if it opened a new one (and its page).

    The page's people are read before the write (as the intake does); the
    request and its escalation then commit together, or neither does.
    """
    if via not in REPORTER_VIA:
        raise ValueError(f"via must be one of {', '.join(REPORTER_VIA)}")
    now = now or datetime.now(UTC)
    tip = await db.fetchone("SELECT ref, channel, urgency FROM tips WHERE id = ?", (tip_id,))
    if tip is None:
        return False
    on_tip = [r[0] for r in await db.fetchall(
        "SELECT a.name FROM tip_advocates ta JOIN advocates a ON a.id = ta.advocate_id"
        " WHERE ta.tip_id = ? AND a.active = 1 ORDER BY a.id", (tip_id,))]
    directory = await load_directory(db)
    plan = deletion_page_plan(directory, on_tip, tip["ref"], tip["channel"],
                              Urgency.parse(tip["urgency"]), now, default_delay)
    people = {} if plan is None else {
        n: directory.people[n].id for lvl in plan.levels for n in lvl.people}
    if plan is None:
        get_logger("hotline.deletion").error("page.nobody", tip=tip_id,
                                             reason="no active advocate to tell of a deletion")
    return bool(await db.write(
        lambda conn: record_request(conn, tip_id, via, now, grace, plan, people)))


def deletion_page_plan(directory: Directory, on_tip: Sequence[str], tip_ref: str, channel: str,
                       urgency: Urgency, now: datetime,
                       default_delay: float) -> EscalationPlan | None:
    """The advocates on the tip first, then the paging policy's levels, each person once.

    Nobody is paged twice for one request (no repeats): the grace period is
    days, not minutes. With nobody active on the tip, the policy alone.
    """
    policy = directory.effective_policy(default_delay)
    levels = directory.levels(policy, now)
    first = tuple(n for n in on_tip if n in directory.people)
    if first:
        delay = levels[0].delay if levels else timedelta(seconds=default_delay)
        rest = [Level(tuple(n for n in lvl.targets if n not in first), lvl.delay)
                for lvl in levels if any(n not in first for n in lvl.targets)]
        levels = [Level(first, delay), *rest]
    if not levels:
        return None
    plan_id = f"{DELETION_PAGE_PREFIX}{secrets.token_hex(8)}"
    return directory.plan(EscalationPolicy(tuple(levels), 0), tip_ref, channel, urgency, now,
                          plan_id)


def record_request(conn: sqlite3.Connection, tip_id: str, via: str, now: datetime, grace: float,
                   plan: EscalationPlan | None, people: Mapping[str, int]) -> bool:
    """The write half of ``request_by_reporter`` (runs on the writer)."""
    if conn.execute("SELECT 1 FROM tips WHERE id = ?", (tip_id,)).fetchone() is None:
        return False  # shredded meanwhile
    row = conn.execute("SELECT state FROM deletion_requests WHERE tip_id = ?",
                       (tip_id,)).fetchone()
    stamp, effective = _stamp(now), _stamp(now + timedelta(seconds=grace))
    if row is not None and row[0] != "cancelled":
        # Pending, held or under way: a repeat (the reporter's, or a spoofer's) changes nothing.
        conn.execute("UPDATE deletion_requests SET repeats = repeats + 1 WHERE tip_id = ?",
                     (tip_id,))
        return False
    conn.execute(
        "INSERT INTO deletion_requests (tip_id, requested_at, effective_at, via, state,"
        " held_by, held_at, repeats, changed_at) VALUES (?,?,?,?, 'pending', NULL, NULL, 0, ?)"
        " ON CONFLICT (tip_id) DO UPDATE SET requested_at = excluded.requested_at,"
        " effective_at = excluded.effective_at, via = excluded.via, state = 'pending',"
        " held_by = NULL, held_at = NULL, repeats = 0, changed_at = excluded.changed_at",
        (tip_id, stamp, effective, via, stamp))
    audit(conn, f"reporter:{via}", "tip.deletion_requested", tip_id,
          f"via={via} effective_at={effective}", at=stamp)
    if plan is not None and people:
        open_escalation(conn, tip_id, plan, stamp, people, now)
    return True


# -- the reporter writes again ---------------------------------------------------------


def reporter_wrote(conn: sqlite3.Connection, tip_id: str, channel: str, stamp: str) -> bool:
    """A new message from the reporter cancels their pending (or held) request.

    Runs in the intake's transaction, before it decides whether to page, so a
    cancelled request's page stops and never blocks the new message's own page.
    """
    row = conn.execute("SELECT state, via FROM deletion_requests WHERE tip_id = ?",
                       (tip_id,)).fetchone()
    if row is None or row[0] not in OPEN_STATES or row[1] in ADMIN_VIA:
        return False
    conn.execute("UPDATE deletion_requests SET state = 'cancelled', changed_at = ?"
                 " WHERE tip_id = ?", (stamp, tip_id))
    _stop_pages(conn, tip_id)
    audit(conn, f"reporter:{channel}", "tip.deletion_cancelled", tip_id,
          f"via={channel} was={row[0]}", at=stamp)
    return True


def _stop_pages(conn: sqlite3.Connection, tip_id: str) -> None:
    """End the request's escalation: nothing left to decide about it."""
    running = ("SELECT id FROM escalations WHERE tip_id = ? AND status IN ('open', 'exhausted')"
               " AND substr(id, 1, ?) = ?")
    args = (tip_id, len(DELETION_PAGE_PREFIX), DELETION_PAGE_PREFIX)
    conn.execute(f"UPDATE page_outbox SET status = 'cancelled' WHERE status = 'pending'"  # noqa: S608 (constant SQL)
                 f" AND escalation_id IN ({running})", args)
    conn.execute(f"UPDATE escalations SET status = 'cancelled', next_due = NULL"  # noqa: S608 (constant SQL)
                 f" WHERE id IN ({running})", args)


# -- an advocate holds or releases ---------------------------------------------------------


def set_request_hold(conn: sqlite3.Connection, tip_id: str, advocate_id: int, actor: str,
                     held: bool) -> bool:
    """Hold a pending request (or release a held one); False if it already was so.

    Raises ``Conflict`` when there is nothing to hold or release. A hold
    answers the page, so the request's escalation stops; a release puts the
    request back to pending with its original due time (if that has passed,
    the next retention pass executes it).
    """
    row = conn.execute("SELECT state FROM deletion_requests WHERE tip_id = ?",
                       (tip_id,)).fetchone()
    state = None if row is None else row[0]
    stamp = utc_now_text()
    if held:
        if state == "held":
            return False
        if state != "pending":
            raise Conflict("no deletion request is pending for this tip")
        conn.execute("UPDATE deletion_requests SET state = 'held', held_by = ?, held_at = ?,"
                     " changed_at = ? WHERE tip_id = ?", (advocate_id, stamp, stamp, tip_id))
        _stop_pages(conn, tip_id)
        audit(conn, actor, "tip.deletion_held", tip_id, at=stamp)
        return True
    if state == "pending":
        return False
    if state != "held":
        raise Conflict("no deletion request is held for this tip")
    conn.execute("UPDATE deletion_requests SET state = 'pending', held_by = NULL, held_at = NULL,"
                 " changed_at = ? WHERE tip_id = ?", (stamp, tip_id))
    audit(conn, actor, "tip.deletion_released", tip_id, at=stamp)
    return True


async def request_state(db: Store, tip_id: str) -> RequestState | None:
    row = await db.fetchone(
        "SELECT d.state, d.via, d.requested_at, d.effective_at, a.name AS held_by, d.held_at,"
        " d.repeats FROM deletion_requests d LEFT JOIN advocates a ON a.id = d.held_by"
        " WHERE d.tip_id = ?", (tip_id,))
    if row is None:
        return None
    return RequestState(row["state"], row["via"], row["requested_at"], row["effective_at"],
                        row["held_by"], row["held_at"], int(row["repeats"]))


# -- the retention pass executes ---------------------------------------------------------


def claim_due(conn: sqlite3.Connection, tip_ids: Sequence[str], stamp: str) -> list[str]:
    """Of the requested tips the pass wants to shred, those still due now, marked ``done``.

    On the writer, so a hold or a reporter's message that committed first
    wins, and one that comes after finds the request under way. A request
    already ``done`` (a pass that died between destroying the key and deleting
    the rows) is finished whatever else holds it: its key may be gone.
    """
    claimed = []
    for tip_id in tip_ids:
        row = conn.execute("SELECT state, effective_at FROM deletion_requests WHERE tip_id = ?",
                           (tip_id,)).fetchone()
        if row is None:
            continue
        if row[0] == "done":
            claimed.append(tip_id)
        elif row[0] == "pending" and row[1] <= stamp and conn.execute(
                "SELECT 1 FROM retention_holds WHERE tip_id = ?", (tip_id,)).fetchone() is None:
            conn.execute("UPDATE deletion_requests SET state = 'done', changed_at = ?"
                         " WHERE tip_id = ?", (stamp, tip_id))
            claimed.append(tip_id)
    return claimed


async def next_due(db: Store, now: datetime) -> datetime | None:
    """When the next pending request falls due after ``now`` (the ops loop wakes for it).

    Only future ones: a request already due but stopped (a hold on the whole
    instance, say) must not make the loop spin; the regular interval retries it.
    """
    row = await db.fetchone(
        "SELECT MIN(effective_at) FROM deletion_requests WHERE state = 'pending'"
        " AND effective_at >= ?", (_stamp(now),))
    if row is None or row[0] is None:
        return None
    return datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
