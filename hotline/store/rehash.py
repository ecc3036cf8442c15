"""Look a tip up by a keyed hash under every server-secret version; rewrite on match.

CRYPTO.md §8: after ``hotline rotate-secret`` the current version is new, and
rows still hold hashes under the old one. A lookup tries every version (so an
SMS thread continues and a receipt still opens); a row found under an older
version is rewritten to the current version there and then, so that once
``secrets.retire_after`` has passed the old version can be destroyed and every
thread or receipt used since the rotation still matches. What was never looked
up in that period stays under the old hash and stops matching once it is
retired.
"""

from __future__ import annotations

import sqlite3

from ..logging import get_logger
from ..server_secret import ServerSecret
from .seam import Store, is_integrity_error, statement_savepoint

COLUMNS = ("thread_hash", "receipt_lookup")


async def find_tip(db: Store, secret: ServerSecret, label: str, data: bytes, column: str,
                   select: str = "id") -> sqlite3.Row | None:
    """The tip whose ``column`` is the keyed hash of ``data`` under any version.

    Every version is looked up whether or not an earlier one matched, so the
    work does not depend on the answer."""
    if column not in COLUMNS:
        raise ValueError(f"not a keyed-hash column: {column}")
    hashes = secret.hashes(label, data)  # current first
    found: sqlite3.Row | None = None
    found_at = -1
    for i, h in enumerate(hashes):
        row = await db.fetchone(f"SELECT {select}, {column} AS _hash FROM tips"  # noqa: S608
                                f" WHERE {column} = ?", (h,))
        if row is not None and found is None:
            found, found_at = row, i
    if found is not None and found_at > 0:
        await _rewrite(db, column, bytes(found["_hash"]), hashes[0])
    return found


async def _rewrite(db: Store, column: str, old: bytes, new: bytes) -> None:
    def update(conn: sqlite3.Connection) -> int:
        try:
            with statement_savepoint(conn, "rehash"):
                return int(conn.execute(f"UPDATE tips SET {column} = ? WHERE {column} = ?",  # noqa: S608
                                        (new, old)).rowcount)
        except Exception as e:
            if not is_integrity_error(e):
                raise
            # Another tip already holds the current hash (two tips raced across the
            # rotation): keep both as they are; the old one ends at retirement.
            return 0
    if await db.write(update):
        get_logger("hotline.store").info("store.rehashed", column=column)
