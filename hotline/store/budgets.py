"""Global per-minute budgets in the ``flood_budget`` table, shared by every front end.

One row per kind and minute (its start, unix time) with a count, nothing
about who spent it. Taking and giving back run inside the caller's write, so
the database serialises them across processes and machines: N front ends
share one budget, not N.
"""

from __future__ import annotations

import sqlite3
from typing import Any

SLOT_SECONDS = 60  # budgets are per minute


def slot_of(now: float) -> int:
    return int(now // SLOT_SECONDS) * SLOT_SECONDS


def take(conn: sqlite3.Connection | Any, kind: str, now: float, limit: int) -> bool:
    """Take one unit of this minute's budget of ``kind``; False when it is spent.
    Older minutes are deleted as we go."""
    if limit <= 0:
        return False
    slot = slot_of(now)
    conn.execute("DELETE FROM flood_budget WHERE kind = ? AND slot < ?", (kind, slot))
    cur = conn.execute(
        "INSERT INTO flood_budget (kind, slot, used) VALUES (?, ?, 1)"
        " ON CONFLICT (kind, slot) DO UPDATE SET used = flood_budget.used + 1"
        " WHERE flood_budget.used < ?",
        (kind, slot, limit))
    return bool(cur.rowcount > 0)


def give_back(conn: sqlite3.Connection | Any, kind: str, slot: int) -> None:
    """Return one unit taken in the minute starting at ``slot`` (the lookup found its tip)."""
    conn.execute("UPDATE flood_budget SET used = used - 1 WHERE kind = ? AND slot = ? AND used > 0",
                 (kind, slot))
