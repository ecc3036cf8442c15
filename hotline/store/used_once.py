"""The used set of single-use reporter tokens: keyed hashes with an expiry.

A row is written in the same transaction as what the token paid for (the
message it sent, the receipt view it opened), so a crash never burns a token
without its effect, and several front ends on one database share the set.
"""

from __future__ import annotations

import sqlite3

from .seam import Store

_last_prune: tuple[int, int] = (0, -1)
"""(id of the connection, second) of the last prune. A connection is not weakly referable;
a mismatch only means one prune more (another connection) or one second's wait (an id reused)."""


def mark_used(conn: sqlite3.Connection, key: bytes, expires_at: int, now: int,
              receipt_box: bytes | None = None, box_until: int | None = None) -> bool:
    """Record ``key`` as used; False if it already was. Prunes what has expired.

    The prune (expired rows deleted, receipt boxes past their window emptied)
    runs at most once a second per connection, not once per report: each is
    two statements on the writer thread, and under a burst the second's
    reports would all repeat the same work. ``find`` never serves a box past
    its window, and a token is refused at its expiry by the form check, so a
    row outliving its time by under a second changes no answer."""
    global _last_prune
    if _last_prune != (id(conn), now):
        conn.execute("DELETE FROM used_once WHERE expires_at < ?", (now,))
        conn.execute("UPDATE used_once SET receipt_box = NULL, box_until = NULL"
                     " WHERE box_until IS NOT NULL AND box_until < ?", (now,))
        _last_prune = (id(conn), now)
    cur = conn.execute("INSERT INTO used_once (key, expires_at, receipt_box, box_until)"
                       " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       (key, expires_at, receipt_box, box_until))
    return cur.rowcount == 1


async def find(db: Store, key: bytes, now: int) -> tuple[bool, bytes | None]:
    """(used?, the sealed receipt if still within its window)."""
    row = await db.fetchone("SELECT receipt_box, box_until FROM used_once WHERE key = ?", (key,))
    if row is None:
        return False, None
    box = row["receipt_box"]
    if box is None or row["box_until"] is None or row["box_until"] < now:
        return True, None
    return True, bytes(box)
