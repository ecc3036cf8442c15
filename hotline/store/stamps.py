"""A cheap stamp that changes whenever the paging directory's tables change.

Intake keeps the paging directory (advocates, on-call list, settings,
notifiers) in memory instead of reading four tables per message, and checks
this stamp inside each message's own transaction, on the writer: if the
directory changed since it was read, the message is sealed again for the new
one, so a message is never committed sealed to a directory that is no longer
the current one.

The stamp is a digest of the four tables' rows, so it moves exactly when
the directory does. Reading them for every message would cost what the
cache saves, so the digest is kept (in a temporary table of the writer's
connection) with the two numbers that say nothing can have changed since:
``PRAGMA data_version``, which moves whenever another connection commits to
the file, and a count of this connection's own changes to the four tables,
kept by temporary triggers (a write rolled back rolls its count back too).
While both stand still, the stamp is one small read (the two numbers and the
kept digest in one statement: each statement on the writer is a GIL hand-off
the event loop pays for). When another process
commits anything (``hotline serve --workers N`` makes that every batch: a
sibling's tips), the digest is computed again, once per transaction, and it
is unchanged unless the directory changed: another worker's tip is not a
reason to seal a message again (it was: under load, reports were refused
with 503 after ``DIRECTORY_TRIES`` reseals).

On PostgreSQL several front ends write, so the counter is a real row
(``directory_changes``, bumped by statement triggers: see the baseline
migration) and the stamp reads it ``FOR SHARE``: a directory change from any
front end waits for the message's commit, or the message sees its count.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

from .seam import kind_of

DIRECTORY_TABLES = ("advocates", "oncall", "paging_settings", "advocate_notifiers")
Stamp = tuple[int, int]


def watch_directory(conn: sqlite3.Connection) -> None:
    """Install the change counter on the writer's connection (once, at open)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS directory_changes (n INTEGER NOT NULL)")
    if conn.execute("SELECT COUNT(*) FROM temp.directory_changes").fetchone()[0] == 0:
        conn.execute("INSERT INTO temp.directory_changes (n) VALUES (0)")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS directory_digest"
                 " (data_version INTEGER NOT NULL, n INTEGER NOT NULL, digest BLOB NOT NULL)")
    for table in DIRECTORY_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            name, body = f"directory_{table}_{event.lower()}", "UPDATE directory_changes SET n = n + 1"
            sql = f"CREATE TEMP TRIGGER IF NOT EXISTS {name} AFTER {event} ON main.{table} BEGIN {body}; END"
            conn.execute(sql)


_STAMP = ("SELECT v.data_version, c.n, k.data_version, k.n, k.digest"
          " FROM pragma_data_version AS v, temp.directory_changes AS c"
          " LEFT JOIN temp.directory_digest AS k")


def directory_stamp(conn: sqlite3.Connection | Any) -> Stamp:
    """The stamp now, on the writer's connection (inside its transaction to be exact)."""
    if kind_of(conn) == "postgresql":
        (n,) = conn.execute("SELECT n FROM directory_changes WHERE id = 1 FOR SHARE").fetchone()
        return 0, int(n)
    version, changes, kept_version, kept_changes, kept = conn.execute(_STAMP).fetchone()
    if kept is not None and kept_version == version and kept_changes == changes:
        return 0, int.from_bytes(kept, "big")
    digest = _directory_digest(conn)
    conn.execute("DELETE FROM temp.directory_digest")
    conn.execute("INSERT INTO temp.directory_digest (data_version, n, digest) VALUES (?, ?, ?)",
                 (version, changes, digest))
    return 0, int.from_bytes(digest, "big")


def _directory_digest(conn: sqlite3.Connection) -> bytes:
    """BLAKE2b-128 of every row of the four tables, in an order that does not depend on SQL."""
    h = hashlib.blake2b(digest_size=16, person=b"hl-directory")
    for table in DIRECTORY_TABLES:
        rows = sorted(repr(tuple(r)) for r in conn.execute(f"SELECT * FROM main.{table}"))  # noqa: S608
        h.update(f"{table}:{len(rows)}\n".encode())
        for row in rows:
            h.update(row.encode() + b"\n")
    return h.digest()
