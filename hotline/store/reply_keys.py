"""The reporter's reply key, wrapped at rest under the tip's storage key.

Why wrapped: the reply key is derived from the receipt alone, so a clear copy
in the database lets whoever copies it test guessed receipts offline with no
server secret. Wrapped under the per-tip key (which lives in the key store,
outside the database and its backups) it says nothing without that key, and
it goes with the tip when the tip is shredded. The label ``TIP#reply`` keeps
a wrapped reply key from passing for an envelope (``TIP``) or a grant
(``TIP#grant``).

Rows stored before schema v13 held the key in clear; ``fill_reply_keys`` moves
them once at start-up, like ``message_channels`` fills its column.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from crypto import CryptoError, fingerprint_of, unwrap, wrap
from crypto.receipt import REPLY_SIGN_PLACEHOLDER

from ..keystore import checkpoint_truncate
from ..logging import get_logger
from .seam import Store

BATCH = 500
PUBLIC_KEY_BYTES = 32


@dataclass(frozen=True)
class ReporterKey:
    box_public: bytes
    fingerprint: str


def reply_label(tip_id: str) -> str:
    return f"{tip_id}#reply"


def seal_reply_key(storage_key: bytes, tip_id: str, box_public: bytes) -> bytes:
    if len(box_public) != PUBLIC_KEY_BYTES:
        raise ValueError("a reply key is 32 bytes")
    return wrap(storage_key, box_public, label=reply_label(tip_id))


def open_reply_key(storage_key: bytes, tip_id: str, sealed: bytes) -> ReporterKey:
    """The reporter's public reply key and its fingerprint; CryptoError if it does not open."""
    public = unwrap(storage_key, sealed, label=reply_label(tip_id))
    if len(public) != PUBLIC_KEY_BYTES:
        raise CryptoError("a wrapped reply key is not 32 bytes")
    return ReporterKey(public, fingerprint_of(public, REPLY_SIGN_PLACEHOLDER))


async def reporter_key(db: Store, storage_key: Callable[[str], Awaitable[bytes | None]],
                       tip_id: str) -> ReporterKey | None:
    """The tip's reply key, or None for a tip without one (SMS, voice) or a shredded tip."""
    row = await db.fetchone("SELECT reply_sealed FROM tips WHERE id = ?", (tip_id,))
    if row is None or row["reply_sealed"] is None:
        return None
    key = await storage_key(tip_id)
    if key is None:
        return None
    return open_reply_key(key, tip_id, bytes(row["reply_sealed"]))


@dataclass(frozen=True)
class ReplyKeyFill:
    wrapped: int
    cleared: int  # no storage key (a shredded tip): the clear values are only removed


async def fill_reply_keys(db: Store,
                          storage_key: Callable[[str], Awaitable[bytes | None]]) -> ReplyKeyFill:
    """Move reply keys stored in clear (before v13) into ``reply_sealed``; idempotent."""
    wrapped = cleared = 0
    while True:
        rows = await db.fetchall(
            "SELECT id, reply_public FROM tips WHERE reply_public IS NOT NULL"
            " OR reply_fingerprint IS NOT NULL LIMIT ?", (BATCH,))
        if not rows:
            break
        updates: list[tuple[bytes | None, str]] = []
        for r in rows:
            tip_id, public = str(r["id"]), r["reply_public"]
            key = await storage_key(tip_id)
            if key is None or public is None or len(bytes(public)) != PUBLIC_KEY_BYTES:
                updates.append((None, tip_id))
                cleared += 1
            else:
                updates.append((seal_reply_key(key, tip_id, bytes(public)), tip_id))
                wrapped += 1

        def move(conn: sqlite3.Connection, u: list[tuple[bytes | None, str]] = updates) -> None:
            conn.executemany(
                "UPDATE tips SET reply_sealed = coalesce(?, reply_sealed), reply_public = NULL,"
                " reply_fingerprint = NULL WHERE id = ?", u)
        await db.write(move)
    if wrapped or cleared:
        if db.kind == "sqlite":  # PostgreSQL databases start at 013: no clear rows to move
            await db.maintain(checkpoint_truncate)  # the clear values leave the WAL too
        get_logger("hotline.store").info("store.reply_keys_wrapped", count=wrapped,
                                         cleared=cleared)
    return ReplyKeyFill(wrapped, cleared)
