"""Acknowledging a tip: one function every path calls (API, page SMS reply, page call key).

Runs inside the writer's transaction, so the acknowledgement, the end of its
escalation (pending pages cancelled) and the audit row commit together or not
at all. Acknowledging stops the escalation for everyone.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from ..store import queries as q
from .store import acknowledge_escalations


def record_ack(conn: sqlite3.Connection, tip_id: str, advocate_id: int, *, actor: str,
               via: str, now: str | None = None) -> list[float]:
    """Mark ``tip_id`` acknowledged; return the seconds each stopped escalation had been open."""
    now = now or q.utc_now_text()
    conn.execute("UPDATE tips SET acked_at = COALESCE(acked_at, ?), acked_by ="
                 " COALESCE(acked_by, ?), status = CASE status WHEN 'new' THEN"
                 " 'acknowledged' ELSE status END, updated_at = ? WHERE id = ?",
                 (now, advocate_id, now, tip_id))
    opened = acknowledge_escalations(conn, tip_id, advocate_id, via, now)
    q.audit(conn, actor, "tip.ack", tip_id, f"via={via} pages_stopped={len(opened)}", at=now)
    at = datetime.fromisoformat(now)
    return [max(0.0, (at - datetime.fromisoformat(o)).total_seconds()) for o in opened]
