"""Acknowledging a tip: one function every path calls (API, page SMS reply, page call key).

Runs inside the writer's transaction, so the acknowledgement, the end of its
escalation and the audit row commit together or not at all.
"""

from __future__ import annotations

import sqlite3

from ..store import queries as q


def record_ack(conn: sqlite3.Connection, tip_id: str, advocate_id: int, *, actor: str,
               via: str, now: str | None = None) -> bool:
    """Mark ``tip_id`` acknowledged by ``advocate_id``; return False if it already was."""
    now = now or q.utc_now_text()
    first = conn.execute("SELECT acked_at FROM tips WHERE id = ?", (tip_id,)).fetchone()
    already = first is not None and first[0] is not None
    conn.execute("UPDATE tips SET acked_at = COALESCE(acked_at, ?), acked_by ="
                 " COALESCE(acked_by, ?), status = CASE status WHEN 'new' THEN"
                 " 'acknowledged' ELSE status END, updated_at = ? WHERE id = ?",
                 (now, advocate_id, now, tip_id))
    q.audit(conn, actor, "tip.ack", tip_id, f"via={via}", at=now)
    return not already
