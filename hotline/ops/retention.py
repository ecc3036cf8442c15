"""Which tips are due for deletion, and the reporter's own request to delete.

The decision is pure (``due``): a policy, the tips' metadata and ``now`` in,
the deletions out, so it is tested without a clock or a database. Holds win
over everything: an administrator's hold (all tips, or one) stops both the
retention periods and a reporter's request.

Channels call ``request_deletion(conn, tip_id, via)`` inside a writer job:

    await services.db.write(lambda c: request_deletion(c, tip_id, "sms"))

The request is recorded and audited at once; the retention task (woken by
``OpsRuntime.wake()`` if the channel has it) shreds the tip unless it is held.
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

VIA = ("sms", "web", "voice", "api", "cli")
"""Where a deletion request came from (a closed set: it is stored and audited)."""


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


def due(policy: RetentionPolicy, tips: Iterable[TipFacts], now: datetime) -> list[Deletion]:
    """The tips to shred now, with the reason recorded in the audit log."""
    if policy.hold_all:
        return []
    out = []
    for tip in tips:
        if tip.held:
            continue
        if tip.requested == "cli":
            out.append(Deletion(tip.tip_id, "admin"))
            continue
        if tip.requested and policy.reporter_deletion:
            out.append(Deletion(tip.tip_id, "reporter-request"))
            continue
        period = policy.period(tip.status, tip.urgency)
        if period is not None and (now - tip.last_activity).total_seconds() >= period:
            out.append(Deletion(tip.tip_id, "retention"))
    return out


TIP_FACTS_SQL = """
SELECT t.id, t.status, t.urgency,
       MAX(t.updated_at, COALESCE((SELECT MAX(created_at) FROM messages m
                                   WHERE m.tip_id = t.id), '')) AS last_activity,
       (SELECT via FROM deletion_requests d WHERE d.tip_id = t.id) AS requested,
       EXISTS(SELECT 1 FROM retention_holds h WHERE h.tip_id = t.id) AS held
FROM tips t
"""


def tip_facts(rows: Iterable[sqlite3.Row | tuple[object, ...]]) -> list[TipFacts]:
    return [TipFacts(str(r[0]), str(r[1]), str(r[2]), parse_stamp(str(r[3])),
                     None if r[4] is None else str(r[4]), bool(r[5])) for r in rows]


def parse_stamp(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def request_deletion(conn: sqlite3.Connection, tip_id: str, via: str) -> bool:
    """Record a reporter's request to delete their thread; False if there is no such tip.

    Safe to repeat. Runs inside a writer job; the shred happens in the
    retention task, which respects holds.
    """
    if via not in VIA:
        raise ValueError(f"via must be one of {', '.join(VIA)}")
    if conn.execute("SELECT 1 FROM tips WHERE id = ?", (tip_id,)).fetchone() is None:
        return False
    inserted = conn.execute(
        "INSERT OR IGNORE INTO deletion_requests (tip_id, requested_at, via) VALUES (?,?,?)",
        (tip_id, utc_now_text(), via)).rowcount
    if inserted:
        actor = "cli" if via == "cli" else f"reporter:{via}"
        audit(conn, actor, "tip.deletion_requested", tip_id, f"via={via}")
    return True


def set_hold(conn: sqlite3.Connection, tip_id: str, actor: str, held: bool) -> bool:
    """Hold or release one tip; False if nothing changed."""
    if held:
        changed = conn.execute(
            "INSERT OR IGNORE INTO retention_holds (tip_id, held_at, actor) VALUES (?,?,?)",
            (tip_id, utc_now_text(), actor)).rowcount
    else:
        changed = conn.execute("DELETE FROM retention_holds WHERE tip_id = ?",
                               (tip_id,)).rowcount
    if changed:
        audit(conn, actor, "tip.hold" if held else "tip.release", tip_id)
    return bool(changed)
