"""The advocate inbox as pages: filters, a stable order and a keyset cursor.

Order: urgency (critical first), then oldest first, then tip id — the same
order as before pages existed, made total by the id so a cursor names one
exact place. A page is "the next ``limit`` tips after this place", read from
the ``tips_inbox_order`` index (migration 007), so page 200 costs what page 1
costs, and a tip that arrives while an advocate walks the pages never shifts
the others: nothing already there is skipped or shown twice.

What a cursor cannot hold still: a tip whose urgency changes during a walk
moves to its new place (raised: above the cursor, shown on the next first
page; lowered by an advocate: it may be seen again further on).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .seam import Store

RANK_SQL = ("(CASE t.urgency WHEN 'critical' THEN 0 WHEN 'high' THEN 1"
            " WHEN 'normal' THEN 2 ELSE 3 END)")

TIP_COLUMNS = ("t.id, t.ref, t.channel, t.urgency, t.urgency_source, t.status, t.created_at,"
               " t.updated_at, t.acked_at, (SELECT COUNT(*) FROM messages m"
               " WHERE m.tip_id = t.id) AS message_count,"
               " (SELECT name FROM advocates WHERE id = t.acked_by) AS acked_by")

_UNREAD = ("(SELECT MAX(m.created_at) FROM messages m WHERE m.tip_id = t.id"
           " AND m.direction = 'in') > COALESCE((SELECT MAX(au.at) FROM audit au"
           " WHERE au.tip_id = t.id AND au.actor = ? AND au.action = 'tip.fetch'), '')")


@dataclass(frozen=True)
class InboxPlace:
    """Where a page ends: the last tip's (urgency rank, created_at, id)."""

    rank: int
    created_at: str
    tip_id: str


@dataclass(frozen=True)
class InboxQuery:
    advocate_id: int
    fingerprint: str  # the audit's actor, for "unread"
    limit: int
    after: InboxPlace | None = None
    statuses: Sequence[str] = ()  # empty: any
    urgencies: Sequence[str] = ()
    channels: Sequence[str] = ()
    ref: str | None = None


@dataclass(frozen=True)
class InboxPage:
    rows: list[sqlite3.Row]
    next: InboxPlace | None  # None: this was the last page


def _in(column: str, values: Sequence[str], where: list[str], params: list[Any]) -> None:
    if values:
        where.append(f"{column} IN ({', '.join('?' for _ in values)})")
        params.extend(values)


def inbox_sql(query: InboxQuery) -> tuple[str, list[Any]]:
    """The page's SQL and parameters (separate so the benchmark can EXPLAIN it)."""
    params: list[Any] = [query.fingerprint, query.advocate_id]
    where = ["EXISTS (SELECT 1 FROM tip_advocates ta WHERE ta.tip_id = t.id"
             " AND ta.advocate_id = ?)"]
    _in("t.status", query.statuses, where, params)
    _in("t.urgency", query.urgencies, where, params)
    _in("t.channel", query.channels, where, params)
    if query.ref is not None:
        where.append("t.ref = ?")
        params.append(query.ref)
    if query.after is not None:
        # The first conjunct lets SQLite seek the index to the cursor's urgency (it
        # does not seek on a row value that starts with an expression); the second
        # is the exact place.
        where.append(f"{RANK_SQL} >= ? AND ({RANK_SQL}, t.created_at, t.id) > (?, ?, ?)")
        params += [query.after.rank, query.after.rank, query.after.created_at,
                   query.after.tip_id]
    conditions = " AND ".join(where)  # constants and placeholders only
    sql = (f"SELECT {TIP_COLUMNS}, {RANK_SQL} AS rank, {_UNREAD} AS unread FROM tips t"  # noqa: S608
           f" WHERE {conditions} ORDER BY {RANK_SQL}, t.created_at, t.id LIMIT ?")
    params.append(query.limit + 1)  # one more: is there a next page?
    return sql, params


async def inbox_page(db: Store, query: InboxQuery) -> InboxPage:
    sql, params = inbox_sql(query)
    rows = await db.fetchall(sql, params)
    if len(rows) <= query.limit:
        return InboxPage(rows, None)
    rows = rows[:query.limit]
    last = rows[-1]
    return InboxPage(rows, InboxPlace(int(last["rank"]), str(last["created_at"]), str(last["id"])))
