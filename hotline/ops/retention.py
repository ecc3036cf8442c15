"""Which tips are due for deletion, and the reporter's own request to delete.

The decision is pure (``due``): a policy, the tips' metadata and ``now`` in,
the deletions out, so it is tested without a clock or a database. Holds win
over everything: an administrator's hold (all tips, or one) stops both the
retention periods and a reporter's request.

A reporter's own request (``hotline.deletion``) is due only once its grace
period has passed (``effective_at``) and while it is still ``pending``: held
and cancelled requests are not. An administrator's ``request_deletion(conn,
tip_id, "cli")`` is due at once. The retention task (woken by
``OpsRuntime.wake()``) shreds what is due unless a hold stops it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ..config import Config
from ..store.queries import audit, utc_now_text
from .settings import STATUSES, URGENCIES
from .shred import Deletion

ADMIN_VIA = ("cli", "api")
"""Where an administrator's deletion comes from (a closed set: it is stored and audited)."""


@dataclass(frozen=True)
class RetentionPolicy:
    status_periods: Mapping[str, float | None]  # None: never
    urgency_minimums: Mapping[str, float]
    hold_all: bool = False
    reporter_deletion: bool = True

    @classmethod
    def from_config(cls, config: Config) -> RetentionPolicy:
        return cls({s: config[f"ops.retention_{s}"] for s in STATUSES},
                   {u: config[f"ops.retention_min_{u}"] for u in URGENCIES},
                   config["ops.retention_hold"], config["ops.reporter_deletion"])

    def period(self, status: str, urgency: str) -> float | None:
        """How long after its last activity a tip may go; urgency only lengthens it."""
        base = self.status_periods.get(status)
        if base is None:
            return None
        return max(base, self.urgency_minimums.get(urgency, 0.0))


@dataclass(frozen=True)
class TipFacts:
    tip_id: str
    status: str
    urgency: str
    last_activity: datetime
    requested: str | None  # how deletion was asked for ("web", "sms", … or "cli" by an admin)
    held: bool
    request_state: str | None = None  # pending / held / cancelled / done (None: pending)
    effective_at: datetime | None = None  # when the request falls due (None: at once)


def due(policy: RetentionPolicy, tips: Iterable[TipFacts], now: datetime) -> list[Deletion]:
    """The tips to shred now, with the reason recorded in the audit log."""
    if policy.hold_all:
        return []
    out = []
    for tip in tips:
        reason = "admin" if tip.requested in ("cli", "api") else "reporter-request"
        if tip.requested and tip.request_state == "done":  # under way: its key may be gone
            out.append(Deletion(tip.tip_id, reason))
            continue
        if tip.held:
            continue
        if (tip.requested and tip.request_state in (None, "pending")
                and (tip.effective_at is None or tip.effective_at <= now)
                and (reason == "admin" or policy.reporter_deletion)):
            out.append(Deletion(tip.tip_id, reason))
            continue
        period = policy.period(tip.status, tip.urgency)
        if period is not None and (now - tip.last_activity).total_seconds() >= period:
            out.append(Deletion(tip.tip_id, "retention"))
    return out


TIP_FACTS_SQL = """
SELECT t.id, t.status, t.urgency,
       (SELECT CASE WHEN MAX(m.created_at) > t.updated_at THEN MAX(m.created_at)
                    ELSE t.updated_at END
        FROM messages m WHERE m.tip_id = t.id) AS last_activity,
       d.via AS requested,
       EXISTS(SELECT 1 FROM retention_holds h WHERE h.tip_id = t.id) AS held,
       d.state, d.effective_at
FROM tips t LEFT JOIN deletion_requests d ON d.tip_id = t.id
"""


def tip_facts(rows: Iterable[sqlite3.Row | tuple[object, ...]]) -> list[TipFacts]:
    return [TipFacts(str(r[0]), str(r[1]), str(r[2]), parse_stamp(str(r[3])),
                     None if r[4] is None else str(r[4]), bool(r[5]),
                     None if r[6] is None else str(r[6]),
                     None if r[7] is None else parse_stamp(str(r[7]))) for r in rows]


def parse_stamp(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def request_deletion(conn: sqlite3.Connection, tip_id: str, via: str) -> bool:
    """Record an administrator's deletion, due at once; False if there is no such tip.

    Safe to repeat. Runs inside a writer job; the shred happens in the
    retention task, which respects holds. It replaces a reporter's request
    still waiting out its grace period. (A reporter's own request goes through
    ``hotline.deletion.request_by_reporter``: grace period, page, hold.)
    """
    if via not in ADMIN_VIA:
        raise ValueError(f"via must be one of {', '.join(ADMIN_VIA)}")
    if conn.execute("SELECT 1 FROM tips WHERE id = ?", (tip_id,)).fetchone() is None:
        return False
    stamp = utc_now_text()
    changed = conn.execute(
        "INSERT INTO deletion_requests (tip_id, requested_at, effective_at, via, state,"
        " changed_at) VALUES (?,?,?,?, 'pending', ?) ON CONFLICT (tip_id) DO UPDATE SET"
        " requested_at = excluded.requested_at, effective_at = excluded.effective_at,"
        " via = excluded.via, state = 'pending', held_by = NULL, held_at = NULL,"
        " changed_at = excluded.changed_at WHERE deletion_requests.state != 'done'"
        " AND deletion_requests.via NOT IN ('cli', 'api')",
        (tip_id, stamp, stamp, via, stamp)).rowcount
    if changed:
        audit(conn, via, "tip.deletion_requested", tip_id, f"via={via}", at=stamp)
    return True


def set_hold(conn: sqlite3.Connection, tip_id: str, actor: str, held: bool) -> bool:
    """Hold or release one tip; False if nothing changed."""
    if held:
        changed = conn.execute(
            "INSERT INTO retention_holds (tip_id, held_at, actor) VALUES (?,?,?) ON CONFLICT DO NOTHING",
            (tip_id, utc_now_text(), actor)).rowcount
    else:
        changed = conn.execute("DELETE FROM retention_holds WHERE tip_id = ?",
                               (tip_id,)).rowcount
    if changed:
        audit(conn, actor, "tip.hold" if held else "tip.release", tip_id)
    return bool(changed)
