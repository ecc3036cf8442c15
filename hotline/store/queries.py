"""Small data functions: ``fn(conn)`` for the writer, async reads for the rest.

Each says in its name what it touches. None of them sees plaintext: messages
arrive here as wrapped envelopes, and the only clear fields are metadata.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..domain import AdvocateId
from ..recipients import AdvocateKey
from .seam import Store


def utc_now_text(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class NewMessage:
    id: str
    tip_id: str
    direction: str
    created_at: str
    envelope: bytes
    urgency: str | None = None
    ruleset_version: str | None = None
    author_id: int | None = None
    external_key: bytes | None = None
    attachments: Sequence[tuple[int, bytes]] = ()
    channel: str | None = None  # the channel bound into the envelope's header


_INSERT_MESSAGE = (
    "INSERT INTO messages (id, tip_id, seq, direction, created_at, urgency, ruleset_version,"
    " author_id, external_key, envelope, channel) VALUES (?, ?,"
    " (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE tip_id = ?),"
    " ?, ?, ?, ?, ?, ?, ?, ?)")


def insert_message(conn: sqlite3.Connection, msg: NewMessage) -> int:
    """Insert ``msg`` as its tip's next message; return its sequence number.

    One statement (the next ``seq`` is computed in the INSERT itself): every
    statement on the writer thread is a GIL hand-off the event loop pays for."""
    seq = _insert_message(conn, msg, "")
    assert seq is not None
    return seq


def insert_message_once(conn: sqlite3.Connection, msg: NewMessage) -> int | None:
    """``insert_message``, or None if a message with ``msg.external_key`` is stored already.

    The duplicate is caught by the INSERT itself (the column's UNIQUE constraint,
    ``ON CONFLICT (external_key) DO NOTHING``), not by a read before it: no error,
    so nothing is spoilt on PostgreSQL, and no statement more on the way of a new one."""
    return _insert_message(conn, msg, " ON CONFLICT (external_key) DO NOTHING")


def _insert_message(conn: sqlite3.Connection, msg: NewMessage, on_conflict: str) -> int | None:
    row = conn.execute(
        _INSERT_MESSAGE + on_conflict + " RETURNING seq",
        (msg.id, msg.tip_id, msg.tip_id, msg.direction, msg.created_at, msg.urgency,
         msg.ruleset_version, msg.author_id, msg.external_key, msg.envelope, msg.channel),
    ).fetchone()
    if row is None:
        return None
    if msg.attachments:
        conn.execute(
            "INSERT INTO attachments (message_id, part, size, blob) VALUES "
            + ",".join(["(?,?,?,?)"] * len(msg.attachments)),
            [v for part, blob in msg.attachments for v in (msg.id, part, len(blob), blob)])
    return int(row[0])


def add_tip_advocates(conn: sqlite3.Connection, tip_id: str, ids: Sequence[AdvocateId]) -> None:
    """One INSERT for all of them (not one statement per advocate)."""
    if not ids:
        return
    conn.execute(
        "INSERT INTO tip_advocates (tip_id, advocate_id) VALUES "
        + ",".join(["(?, ?)"] * len(ids)) + " ON CONFLICT DO NOTHING",
        [v for i in ids for v in (tip_id, i)],
    )


def audit(conn: sqlite3.Connection, actor: str, action: str, tip_id: str | None = None,
          detail: str | None = None, at: str | None = None) -> None:
    conn.execute(
        "INSERT INTO audit (at, actor, action, tip_id, detail) VALUES (?,?,?,?,?)",
        (at or utc_now_text(), actor, action, tip_id, detail),
    )


def external_key_exists(conn: sqlite3.Connection, key: bytes) -> str | None:
    row = conn.execute("SELECT tip_id FROM messages WHERE external_key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


_ADVOCATE_KEY_COLUMNS = "a.id, a.name, a.fingerprint, a.box_public"


def _advocate_keys(rows: Sequence[sqlite3.Row]) -> list[AdvocateKey]:
    return [AdvocateKey(AdvocateId(r[0]), r[1], r[2], bytes(r[3])) for r in rows]


async def tip_advocate_keys(db: Store, tip_id: str) -> list[AdvocateKey]:
    rows = await db.fetchall(
        f"SELECT {_ADVOCATE_KEY_COLUMNS} FROM tip_advocates t JOIN advocates a"
        " ON a.id = t.advocate_id WHERE t.tip_id = ? AND a.active = 1 ORDER BY a.id",
        (tip_id,),
    )
    return _advocate_keys(rows)


async def get_meta(db: Store, key: str) -> str | None:
    row = await db.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
    return None if row is None else str(row[0])
