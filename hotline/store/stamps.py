"""A cheap stamp that changes whenever the paging directory's tables change.

Intake keeps the paging directory (advocates, on-call list, settings,
notifiers) in memory instead of reading four tables per message, and checks
this stamp inside each message's own transaction, on the writer: if the
directory changed since it was read, the message is sealed again for the new
one, so a message is never committed sealed to a directory that is no longer
the current one.

The stamp has two halves. ``PRAGMA data_version`` on the writer's connection
changes whenever another connection (the CLI, another process) commits to
the file. Changes the writer itself makes are counted by temporary triggers
on the four tables, which live only on the writer's connection and so cost
nothing anywhere else; a write rolled back rolls its count back too.

On PostgreSQL several front ends write, so the counter is a real row
(``directory_changes``, bumped by statement triggers: see the baseline
migration) and the stamp reads it ``FOR SHARE``: a directory change from any
front end waits for the message's commit, or the message sees its count.
"""

from __future__ import annotations

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
    for table in DIRECTORY_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            name, body = f"directory_{table}_{event.lower()}", "UPDATE directory_changes SET n = n + 1"
            sql = f"CREATE TEMP TRIGGER IF NOT EXISTS {name} AFTER {event} ON main.{table} BEGIN {body}; END"
            conn.execute(sql)


def directory_stamp(conn: sqlite3.Connection | Any) -> Stamp:
    """The stamp now, on the writer's connection (inside its transaction to be exact)."""
    if kind_of(conn) == "postgresql":
        (n,) = conn.execute("SELECT n FROM directory_changes WHERE id = 1 FOR SHARE").fetchone()
        return 0, int(n)
    (version,) = conn.execute("PRAGMA data_version").fetchone()
    (changes,) = conn.execute("SELECT n FROM temp.directory_changes").fetchone()
    return int(version), int(changes)
