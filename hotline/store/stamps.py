"""A cheap stamp that changes whenever the paging directory's tables change.

Intake keeps the paging directory (advocates, on-call list, settings,
notifiers) in memory instead of reading four tables per message, and checks
this stamp inside each message's own transaction, on the writer: if the
directory changed since it was read, the message is sealed again for the new
one, so a message is never committed sealed to a directory that is no longer
the current one.

The stamp is a digest of the four tables' rows, so it moves exactly when
the directory does. Reading them for every message would cost what the
cache saves, so the digest is kept (in memory, per writer connection) with
the two numbers that say nothing can have changed since: ``PRAGMA
data_version``, which moves whenever another connection commits to the
file, and a count of this connection's own changes to the four tables, kept
by temporary triggers that call a function of the connection (a change
rolled back still counts: the digest is then computed again and comes out
the same). And within one write transaction of the writer (announced by
``transaction_hook``) nobody else can commit, so
while this connection's own count stands still the stamp is read once per
transaction, not once per message: under load a batch of messages pays one
statement for it, where it paid one each (each statement on the writer is a
GIL hand-off the event loop pays for). When another process commits anything
(``hotline serve --workers N`` makes that every batch: a sibling's tips),
the digest is computed again, once per transaction, and it is unchanged
unless the directory changed: another worker's tip is not a reason to seal
a message again (it was: under load, reports were refused with 503 after
``DIRECTORY_TRIES`` reseals).

On PostgreSQL several front ends write, so the counter is a real row
(``directory_changes``, bumped by statement triggers: see the baseline
migration) and the stamp reads it ``FOR SHARE``: a directory change from any
front end waits for the message's commit, or the message sees its count.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from typing import Any

from .seam import kind_of

DIRECTORY_TABLES = ("advocates", "oncall", "paging_settings", "advocate_notifiers")
Stamp = tuple[int, int]
_CHANGED = "hl_directory_changed"


class _Watch:
    """One watched connection's counters and kept digest (only its writer thread uses it)."""

    __slots__ = ("changes", "conn", "digest", "digest_changes", "digest_version", "stamp",
                 "stamp_changes", "txn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.changes = 0  # this connection's own changes to the four tables (triggers)
        self.digest: bytes | None = None
        self.digest_version = self.digest_changes = -1
        self.txn = False  # inside a write transaction of the writer: the stamp below is its
        self.stamp: Stamp | None = None
        self.stamp_changes = -1

    def changed(self) -> None:
        self.changes += 1


_watches: dict[int, _Watch] = {}


def _watch_of(conn: Any) -> _Watch | None:
    w = _watches.get(id(conn))
    return w if w is not None and w.conn is conn else None  # an id reused by another connection


def watch_directory(conn: sqlite3.Connection) -> None:
    """Install the change counter on the writer's connection (once, at open)."""
    w = _Watch(conn)
    conn.create_function(_CHANGED, 0, w.changed)
    for table in DIRECTORY_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            name = f"directory_{table}_{event.lower()}"
            conn.execute(f"DROP TRIGGER IF EXISTS temp.{name}")
            conn.execute(f"CREATE TEMP TRIGGER {name} AFTER {event} ON main.{table}"
                         f" BEGIN SELECT {_CHANGED}(); END")
    _watches[id(conn)] = w


def transaction_hook(conn: Any, started: bool) -> None:
    """The writer began (True) or ended (False) a write transaction on ``conn``.

    Between the two nobody else can commit to the file (``BEGIN IMMEDIATE``
    holds its write lock), so a stamp read once stands for the transaction
    unless this connection changes the directory itself."""
    w = _watch_of(conn)
    if w is not None:
        w.txn, w.stamp = started, None


def directory_stamp(conn: sqlite3.Connection | Any) -> Stamp:
    """The stamp now, on the writer's connection (inside its transaction to be exact)."""
    if kind_of(conn) == "postgresql":
        (n,) = conn.execute("SELECT n FROM directory_changes WHERE id = 1 FOR SHARE").fetchone()
        return 0, int(n)
    w = _watch_of(conn)
    if w is None:  # not a watched connection: no shortcut is safe
        return 0, int.from_bytes(_directory_digest(conn), "big")
    if w.stamp is not None and w.stamp_changes == w.changes:
        return w.stamp  # this transaction's, and nothing here changed the directory since
    (version,) = conn.execute("PRAGMA data_version").fetchone()
    if w.digest is None or w.digest_version != version or w.digest_changes != w.changes:
        w.digest_changes = w.changes  # before reading: a change during the read recounts
        w.digest, w.digest_version = _directory_digest(conn), version
    stamp = (0, int.from_bytes(w.digest, "big"))
    if w.txn:
        w.stamp, w.stamp_changes = stamp, w.changes
    return stamp


def directory_stamp_later(conn: sqlite3.Connection | Any) -> Callable[[], Stamp]:
    """The stamp now, to be looked at later in the same job.

    On PostgreSQL the read (``FOR SHARE``: its lock is taken when the server runs it,
    at once) is sent in the writer's pipeline without waiting for its answer; the
    caller looks at it after its next statement it had to wait for anyway, so the
    stamp costs no round trip of its own. Whatever the job wrote before looking is
    taken back with it if the stamp moved. On SQLite it is read now."""
    if kind_of(conn) == "postgresql":
        cur = conn.execute("SELECT n FROM directory_changes WHERE id = 1 FOR SHARE")
        return lambda: (0, int(cur.fetchone()[0]))
    stamp = directory_stamp(conn)
    return lambda: stamp


def _directory_digest(conn: sqlite3.Connection) -> bytes:
    """BLAKE2b-128 of every row of the four tables, in an order that does not depend on SQL."""
    h = hashlib.blake2b(digest_size=16, person=b"hl-directory")
    for table in DIRECTORY_TABLES:
        rows = sorted(repr(tuple(r)) for r in conn.execute(f"SELECT * FROM main.{table}"))  # noqa: S608
        h.update(f"{table}:{len(rows)}\n".encode())
        for row in rows:
            h.update(row.encode() + b"\n")
    return h.digest()
