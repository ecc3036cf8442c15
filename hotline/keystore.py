"""Per-tip storage keys, kept outside the database (crypto-shredding).

Every envelope at rest is wrapped once more under its tip's storage key.
Deleting a tip destroys this key first; then even an old backup, the WAL or a
free page holding the envelope can no longer be opened, whoever holds
advocate or recovery keys. The store is its own SQLite file under
``secrets/``, written through its own group-commit writer so a new tip's key
is durable before any envelope that needs it is.

New tips take their id and key from a small pool of pairs that are already
durable (``take_new``): the key store's fsync then happens ahead of time, in
batches, beside the database's commits instead of in series with them on
every new tip's latency. The ordering guarantee is stronger than before, not
weaker: the key is on disk before the message is even sealed. A crash (or a
message that fails to store) leaves at most the unused pairs behind: keys that
no envelope was ever wrapped under, bound to random tip ids nobody holds.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from pathlib import Path

from crypto import new_storage_key

from .domain import TipId, new_tip_id
from .store.connection import open_sqlite
from .store.reader import Reader
from .store.writer import Writer

CHECKPOINT_TRIES = 20
POOL_LOW = 64
"""Below this many ready pairs a refill starts (in the background)."""
POOL_BATCH = 192
"""Pairs made durable per refill: one fsync of the key store per this many new tips."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tip_keys (
    tip_id TEXT PRIMARY KEY,
    key    BLOB NOT NULL
) STRICT, WITHOUT ROWID
"""


def initialise_keystore(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    conn = open_sqlite(path)
    try:
        conn.execute(_SCHEMA)
    finally:
        conn.close()
    path.chmod(0o600)


def checkpoint_truncate(conn: sqlite3.Connection) -> None:
    """Copy the WAL into the file and empty it; retry while a reader holds a snapshot."""
    for _ in range(CHECKPOINT_TRIES):
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if not busy:
            return
        time.sleep(0.05)
    raise OSError("the WAL checkpoint stayed busy: a reader held the database too long")


class KeyStore:
    def __init__(self, path: Path, *, cache_size: int = 4096) -> None:
        self._path = path
        self._writer = Writer(path, name="keystore")
        self._reader: Reader | None = None
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._pool: deque[tuple[TipId, bytes]] = deque()
        self._refill: asyncio.Task[None] | None = None

    async def open(self) -> None:
        initialise_keystore(self._path)
        self._writer.start()
        self._reader = Reader(self._path, name="keystore-reader")
        self._reader.start()

    async def close(self) -> None:
        if self._refill is not None:
            await asyncio.gather(self._refill, return_exceptions=True)
        self._writer.close()
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def create(self, tip_id: str, key: bytes | None = None) -> bytes:
        """Store a new tip's key (fresh unless given); durable before it returns.

        Returns the key on record: if the tip already had one, that one wins.
        """
        key = key if key is not None else new_storage_key()

        def insert(conn: sqlite3.Connection) -> bytes:
            row = conn.execute("SELECT key FROM tip_keys WHERE tip_id = ?", (tip_id,)).fetchone()
            if row is not None:
                return bytes(row[0])
            conn.execute("INSERT INTO tip_keys (tip_id, key) VALUES (?, ?)", (tip_id, key))
            return key

        stored = await self._writer.run(insert)
        self._remember(tip_id, stored)
        return stored

    async def take_new(self) -> tuple[TipId, bytes]:
        """A fresh tip id and its storage key, both already durable in the key store."""
        while not self._pool:
            await asyncio.shield(self._start_refill())
        pair = self._pool.popleft()
        if len(self._pool) < POOL_LOW:
            self._start_refill()
        self._remember(pair[0], pair[1])
        return pair

    def _start_refill(self) -> asyncio.Task[None]:
        if self._refill is None or self._refill.done():
            self._refill = asyncio.create_task(self._make_pairs(POOL_BATCH))
            # A failed refill is reported to whoever awaits it; a background one is retried.
            self._refill.add_done_callback(lambda t: t.cancelled() or t.exception())
        return self._refill

    async def _make_pairs(self, n: int) -> None:
        pairs = [(new_tip_id(), new_storage_key()) for _ in range(n)]

        def insert(conn: sqlite3.Connection) -> list[tuple[TipId, bytes]]:
            return [(t, k) for t, k in pairs if conn.execute(
                "INSERT OR IGNORE INTO tip_keys (tip_id, key) VALUES (?, ?)", (t, k)).rowcount]

        self._pool.extend(await self._writer.run(insert))  # only once the commit is durable

    async def get(self, tip_id: str) -> bytes | None:
        if tip_id in self._cache:
            self._cache.move_to_end(tip_id)
            return self._cache[tip_id]
        assert self._reader is not None, "keystore not open"
        rows = await self._reader.fetchall("SELECT key FROM tip_keys WHERE tip_id = ?", (tip_id,))
        if not rows:
            return None
        row = rows[0]
        key = bytes(row[0])
        self._remember(tip_id, key)
        return key

    async def destroy(self, tip_id: str) -> None:
        await self.destroy_many([tip_id])

    async def destroy_many(self, tip_ids: Sequence[str]) -> int:
        """The shred itself: delete the keys durably, then checkpoint the WAL away.

        ``secure_delete`` zeroes the freed cells in the page written to the
        WAL; the TRUNCATE checkpoint copies that page over the old one in the
        file and empties the WAL, so no copy of a destroyed key is left in
        either file. Returns how many keys existed.
        """
        ids = list(tip_ids)
        for tip_id in ids:
            self._cache.pop(tip_id, None)

        def delete(conn: sqlite3.Connection) -> int:
            return sum(conn.execute("DELETE FROM tip_keys WHERE tip_id = ?", (t,)).rowcount
                       for t in ids)

        count = await self._writer.run(delete)
        await self._writer.run_bare(checkpoint_truncate)
        return count

    async def ping(self) -> bool:
        """The key store answers a read (for /readyz)."""
        if self._reader is None:
            return False
        try:
            await self._reader.fetchall("SELECT COUNT(*) FROM tip_keys")
            return True
        except Exception:
            return False

    def _remember(self, tip_id: str, key: bytes) -> None:
        self._cache[tip_id] = key
        self._cache.move_to_end(tip_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
