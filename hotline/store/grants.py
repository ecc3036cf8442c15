"""Key grants at rest: one row per (message, new reader), wrapped under the tip's storage key.

Rows are only ever added (hand-off, recovery) and only removed with their tip
(retention, shredding). The wrap label differs from the envelopes' so a
wrapped grant can never be passed off as a wrapped envelope or the reverse.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from crypto import unwrap, wrap

from .seam import Store


def grant_label(tip_id: str) -> str:
    """The at-rest associated data of a tip's grants."""
    return f"{tip_id}#grant"


@dataclass(frozen=True)
class NewGrant:
    message_id: str
    grantee: str
    grantor: str
    blob: bytes  # the grant as the client sent it (parsed and checked before)


def insert_grants(conn: sqlite3.Connection, storage_key: bytes, tip_id: str, created_at: str,
                  grants: Sequence[NewGrant]) -> None:
    """Add grants in the caller's transaction; a second grant of one message to one reader
    violates the UNIQUE constraint (callers check first, to answer with a reason)."""
    conn.executemany(
        "INSERT INTO grants (tip_id, message_id, grantee, grantor, created_at, grant_blob)"
        " VALUES (?,?,?,?,?,?)",
        [(tip_id, g.message_id, g.grantee, g.grantor, created_at,
          wrap(storage_key, g.blob, label=grant_label(tip_id))) for g in grants])


def grantees(conn: sqlite3.Connection, message_id: str) -> set[str]:
    """Who already holds a grant for this message."""
    return {r[0] for r in conn.execute("SELECT grantee FROM grants WHERE message_id = ?",
                                       (message_id,))}


async def tip_grants(db: Store, storage_key: bytes, tip_id: str) -> dict[str, list[bytes]]:
    """Every grant of a tip, unwrapped, by message id, in the order they were added."""
    rows = await db.fetchall(
        "SELECT message_id, grant_blob FROM grants WHERE tip_id = ? ORDER BY id", (tip_id,))
    out: dict[str, list[bytes]] = {}
    for r in rows:
        out.setdefault(r[0], []).append(
            unwrap(storage_key, bytes(r[1]), label=grant_label(tip_id)))
    return out
