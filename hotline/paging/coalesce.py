"""Coalescing pages per person and window, so a flood cannot exhaust the on-call advocate.

Pages are never dropped; they are grouped. Per person there is a *window*
(``paging.coalesce_window``):

* a page to someone whose window is closed goes out at once (``fold =
  'direct'``) and opens their window for ``window`` seconds. Of several new
  pages for one person seen in the same turn, the most urgent (then the
  oldest) is the one that goes out: a critical is never held behind a high;
* a page to someone whose window is open is *held* (``fold = 'held'``) until
  the window closes;
* when it closes, the held pages go out together as **one summary page**
  (one alone goes out as itself), and that opens the next window.

So nobody gets more than one page per window after the first, and no page
waits longer than one window (plus its own delivery). Escalation is not
touched: each tip's escalation still moves on its own schedule, and its next
level's pages coalesce in *that* person's window.

Everything here runs on the writer thread inside the worker's transaction, so
a fold, a summary and the window it opens commit together; a restart finds
held pages with the time they are due, and a summary is made once (its key is
the smallest outbox id it carries, and the rows move into it in the same
commit). Acknowledging a tip cancels its held pages like any pending page;
a summary whose pages were all cancelled before it went out is not sent.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass

from triage_rules import Urgency

from .store import new_code

SUMMARY_CODE_DIGITS = 6  # escalations use 4 digits while they can: the two rarely meet


@dataclass(frozen=True)
class Folded:
    direct: int  # pages released to go out at once
    held: int  # pages held until their person's window closes
    summaries: int  # summary pages made


def _rank(plan_urgency: str | None) -> int:
    try:
        return Urgency.parse(plan_urgency or "").rank
    except ValueError:
        return 0


def _open_window(conn: sqlite3.Connection, advocate_id: int, until: float) -> None:
    conn.execute("INSERT INTO page_windows (advocate_id, until) VALUES (?, ?)"
                 " ON CONFLICT (advocate_id) DO UPDATE SET until = excluded.until",
                 (advocate_id, until))


def fold_new(conn: sqlite3.Connection, now: float, window: float) -> Folded:
    """Decide, for every page the worker has not looked at yet, whether it goes or waits."""
    rows = conn.execute(
        "SELECT o.id, o.advocate_id, e.plan FROM page_outbox o"
        " JOIN escalations e ON e.id = o.escalation_id"
        " WHERE o.fold IS NULL AND o.status = 'pending' ORDER BY o.id").fetchall()
    if not rows:
        return Folded(0, 0, 0)
    if window <= 0:
        _set_fold(conn, "direct", [r[0] for r in rows])
        return Folded(len(rows), 0, 0)
    by_person: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for outbox_id, advocate_id, plan in rows:  # the plan's JSON read here: portable SQL
        by_person[advocate_id].append((outbox_id, _rank(json.loads(plan).get("urgency"))))
    direct: list[int] = []
    held: dict[float, list[int]] = defaultdict(list)  # by the window's end they wait for
    for advocate_id, pages in by_person.items():
        row = conn.execute("SELECT until FROM page_windows WHERE advocate_id = ?",
                           (advocate_id,)).fetchone()
        until = row[0] if row is not None else None
        if until is None or until <= now:
            first = min(pages, key=lambda p: (-p[1], p[0]))  # most urgent, then oldest
            direct.append(first[0])
            until = now + window
            _open_window(conn, advocate_id, until)
            pages = [p for p in pages if p is not first]
        held[until].extend(outbox_id for outbox_id, _ in pages)
    _set_fold(conn, "direct", direct)
    for until, ids in held.items():
        _set_fold(conn, "held", ids, next_attempt=until)
    return Folded(len(direct), sum(len(ids) for ids in held.values()), 0)


_IDS_PER_STATEMENT = 500
"""Ids in one ``IN (...)`` list: far below SQLite's and PostgreSQL's parameter limits."""


def _set_fold(conn: sqlite3.Connection, fold: str, ids: list[int],
              next_attempt: float | None = None) -> None:
    """Mark ``ids`` in a few statements rather than one per row.

    Under load one pass folds the pages of many reports; ``executemany`` stepped once per
    row, and each step hands the GIL to the event loop and back (one more hand-off per paging
    report under load, measured as a statement per report by bench/writer_cost.py).
    """
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        part = ids[start:start + _IDS_PER_STATEMENT]
        where = f"id IN ({','.join('?' * len(part))})"  # placeholders only; values bound
        if next_attempt is None:
            conn.execute(f"UPDATE page_outbox SET fold = ? WHERE {where}",  # noqa: S608
                         (fold, *part))
        else:
            conn.execute(f"UPDATE page_outbox SET fold = ?, next_attempt = ? WHERE {where}",  # noqa: S608
                         (fold, next_attempt, *part))


def summarise_due(conn: sqlite3.Connection, now: float, window: float, stamp: str) -> Folded:
    """Close every window whose held pages are due: one summary (or the page itself) each."""
    rows = conn.execute(
        "SELECT id, advocate_id FROM page_outbox WHERE status = 'pending' AND fold = 'held'"
        " AND summary_id IS NULL AND next_attempt <= ? ORDER BY id", (now,)).fetchall()
    if not rows:
        return Folded(0, 0, 0)
    by_person: dict[int, list[int]] = defaultdict(list)
    for outbox_id, advocate_id in rows:
        by_person[advocate_id].append(outbox_id)
    direct = summaries = 0
    for advocate_id, ids in by_person.items():
        _open_window(conn, advocate_id, now + max(window, 0.0))
        if len(ids) == 1:
            conn.execute("UPDATE page_outbox SET fold = 'direct', next_attempt = ? WHERE id = ?",
                         (now, ids[0]))
            direct += 1
            continue
        code = new_code(conn, SUMMARY_CODE_DIGITS)
        made = conn.execute(
            "INSERT INTO page_summaries (key, advocate_id, code, created_at, next_attempt,"
            " status) VALUES (?,?,?,?,?,'pending') ON CONFLICT DO NOTHING RETURNING id",
            (f"summary:{advocate_id}:{ids[0]}", advocate_id, code, stamp, now)).fetchone()
        if made is None:  # made already (cannot happen in one commit; kept honest)
            continue
        summary_id = made[0]
        conn.executemany("UPDATE page_outbox SET summary_id = ? WHERE id = ?",
                         [(summary_id, i) for i in ids])
        summaries += 1
    return Folded(direct, 0, summaries)


def coalesce(conn: sqlite3.Connection, now: float, window: float, stamp: str) -> Folded:
    """One turn: close the windows that are due, then fold the new pages.

    In that order: a window closing while new pages arrive sends its summary and
    opens the next window, which holds the new pages. The other order would
    see the window closed, send a new page at once *and* the summary.
    """
    closed = summarise_due(conn, now, window, stamp)
    new = fold_new(conn, now, window)
    return Folded(closed.direct + new.direct, new.held, closed.summaries)
