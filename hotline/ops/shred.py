"""Crypto-shredding a tip (CRYPTO.md §13): key first, then rows, then the bytes.

1. The tip's storage key is deleted from the key store, durably, and the key
   store's WAL is checkpointed away: from this moment every copy of the tip's
   envelopes (this database, its WAL, free pages, every backup ever taken) is
   unreadable, even with the recovery key.
2. The tip's rows go, with everything that refers to them (found from the
   schema's foreign keys, so tables added later by other features are
   covered), in one transaction that also writes the audit entry: what was
   deleted and why, never content.
3. The freed pages are reclaimed (``incremental_vacuum``, or a one-off VACUUM
   that converts an older database) and the WAL is checkpointed with
   TRUNCATE, so the ciphertext is gone from the database file and its WAL,
   not merely unreachable (``secure_delete`` zeroes what is freed).

On PostgreSQL steps 1 and 2 are the same; step 3 is SQLite's alone: there is
no ``secure_delete``, and the deleted rows' bytes stay in heap pages and WAL
segments until (auto)vacuum and WAL recycling overwrite them. There the
deleted key (step 1) is what makes the ciphertext unreadable; ``reclaim``
does nothing on PostgreSQL (its meaning there is the key store's business).

If the process dies between 1 and 2, the next retention pass makes the same
decision (the tip is still due, or its deletion request is still recorded)
and finishes the job.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from ..keystore import KeyStore, checkpoint_truncate
from ..store.queries import audit
from ..store.seam import Store, kind_of

KEEP_TABLES = frozenset({"audit"})
"""Tables that keep rows naming a deleted tip: the audit log says that it was deleted."""


@dataclass(frozen=True)
class Deletion:
    tip_id: str
    reason: str  # "retention", "reporter-request", "admin", "orphaned"


async def shred(db: Store, keystore: KeyStore, deletions: Sequence[Deletion],
                *, actor: str) -> int:
    """Shred every tip in ``deletions``; return how many tips' rows were deleted."""
    if not deletions:
        return 0
    await keystore.destroy_many([d.tip_id for d in deletions])
    deleted = await db.write(lambda conn: delete_tips(conn, deletions, actor))
    await db.maintain(reclaim)
    return deleted


def delete_tips(conn: sqlite3.Connection, deletions: Sequence[Deletion], actor: str) -> int:
    """Delete each tip and every row that refers to it; audit each. Runs on the writer."""
    graph = _referrers(conn)
    count = 0
    for d in deletions:
        row = conn.execute("SELECT channel, thread_hash FROM tips WHERE id = ?",
                           (d.tip_id,)).fetchone()
        if row is None:
            continue
        messages, parts = conn.execute(
            "SELECT COUNT(*), (SELECT COUNT(*) FROM attachments a JOIN messages m"
            " ON m.id = a.message_id WHERE m.tip_id = ?) FROM messages WHERE tip_id = ?",
            (d.tip_id, d.tip_id)).fetchone()
        if row[1] is not None:
            _delete_thread_rows(conn, bytes(row[1]))
        _delete_tip_columns(conn, d.tip_id, graph)
        _delete(conn, graph, "tips", '"id" = ?', (d.tip_id,), 0)
        audit(conn, actor, "tip.deleted", d.tip_id,
              f"reason={d.reason} channel={row[0]} messages={messages} attachments={parts}")
        count += 1
    return count


def reclaim(conn: sqlite3.Connection) -> None:
    """Give freed pages back and empty the WAL (outside any transaction). SQLite only."""
    if kind_of(conn) == "postgresql":
        return  # autovacuum reclaims dead rows; see the module docstring
    if int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]) == 2:
        conn.executescript("PRAGMA incremental_vacuum;")  # steps until every free page is gone
    else:  # a database from before incremental vacuum: convert it once
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("VACUUM")
    checkpoint_truncate(conn)


_Graph = dict[str, list[tuple[str, str, str]]]


def _referrers(conn: sqlite3.Connection) -> _Graph:
    """parent table -> [(child table, child column, parent column)] from the foreign keys."""
    graph: _Graph = {}
    for child, column, parent, target in _foreign_keys(conn):
        graph.setdefault(parent, []).append((child, column, target))
    return graph


def _tables(conn: sqlite3.Connection) -> list[str]:
    if kind_of(conn) == "postgresql":
        return [str(r[0]) for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema ="
            " current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()]
    return [str(r[0]) for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()]


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    if kind_of(conn) == "postgresql":
        return {str(r[0]) for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = ?", (table,)).fetchall()}
    return {str(c[1]) for c in conn.execute(f'PRAGMA table_info("{table}")').fetchall()}


def _foreign_keys(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    """(child table, child column, parent table, parent column) of every foreign key."""
    if kind_of(conn) == "postgresql":  # ours are all single-column
        return [(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in conn.execute(
            "SELECT cl.relname, a.attname, pl.relname, af.attname FROM pg_constraint c"
            " JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_class pl ON pl.oid = c.confrelid"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]"
            " WHERE c.contype = 'f' AND cl.relnamespace = current_schema()::regnamespace"
        ).fetchall()]
    out = []
    for child in _tables(conn):
        for fk in conn.execute(f'PRAGMA foreign_key_list("{child}")').fetchall():
            parent, column, target = fk[2], fk[3], fk[4]
            out.append((child, str(column), str(parent), str(target or _pk(conn, parent))))
    return out


def _pk(conn: sqlite3.Connection, table: str) -> str:
    for col in conn.execute(f'PRAGMA table_info("{table}")').fetchall():
        if col[5] == 1:
            return str(col[1])
    return "rowid"


def _delete(conn: sqlite3.Connection, graph: _Graph, table: str, where: str,
            params: tuple[object, ...], depth: int) -> None:
    """Children first (foreign keys are enforced), then the rows themselves."""
    if depth > 8:
        raise RuntimeError(f"foreign keys nest too deep below {table}")
    for child, column, parent_column in graph.get(table, []):
        if child == table or child in KEEP_TABLES:
            continue
        sub = f'"{column}" IN (SELECT "{parent_column}" FROM "{table}" WHERE {where})'  # noqa: S608 (names from our own schema, values bound)
        _delete(conn, graph, child, sub, params, depth + 1)
    conn.execute(f'DELETE FROM "{table}" WHERE {where}', params)  # noqa: S608 (schema names)


def _delete_tip_columns(conn: sqlite3.Connection, tip_id: str, graph: _Graph) -> None:
    """Rows that name the tip in a ``tip_id`` column without a declared foreign key."""
    for table in _tables(conn):
        if table in KEEP_TABLES:
            continue
        if "tip_id" in _columns(conn, table):
            _delete(conn, graph, table, '"tip_id" = ?', (tip_id,), 0)


def _delete_thread_rows(conn: sqlite3.Connection, thread_hash: bytes) -> None:
    """Per-thread rows kept by hash (e.g. the SMS auto-reply window): the thread is gone."""
    for table in _tables(conn):
        if table != "tips" and "thread_hash" in _columns(conn, table):
            conn.execute(f'DELETE FROM "{table}" WHERE thread_hash = ?',  # noqa: S608 (schema names)
                         (thread_hash,))
