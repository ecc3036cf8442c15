"""Per-tip storage keys, wrapped under the current epoch key (crypto-shredding).

Every envelope at rest is wrapped once more under its tip's storage key.
Deleting a tip destroys this key first; then even an old backup, the WAL or a
free page holding the envelope can no longer be opened, whoever holds
advocate or recovery keys. The key store never holds a tip key in clear: each
row is the key wrapped under an epoch key kept in a file outside every
database (``epochs.py``), and rotation (``rotation.py``) destroys old epoch
keys, so a shredded tip's key lingering in a WAL, dead tuple or backup of the
key store dies with the next rotation.

New tips take their id and key from a small pool of pairs that are already
durable (``take_new``): the key store's fsync then happens ahead of time, in
batches, beside the database's commits instead of in series with them on
every new tip's latency. A crash (or a message that fails to store) leaves at
most unused pairs behind: keys no envelope was ever wrapped under, bound to
random tip ids nobody holds.

Several front ends share one key store. ``get`` always asks the key store
whether the tip's row still exists (a shred on another front end is seen at
once); the in-memory cache only saves unwrapping the same stored bytes again,
and a row naming an epoch this process has not loaded yet reads the epochs
folder again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from crypto import new_storage_key
from crypto.epoch import unwrap_tip_key, wrap_tip_key

from ..domain import TipId, new_tip_id
from ..logging import get_logger
from .backend import KeyDb, RotationBusy, checkpoint_truncate
from .epochs import EpochFolder, EpochKeyMissing
from .rotation import DEFAULT_BATCH, RotationReport, current_epoch, rotate

POOL_LOW = 64
"""Below this many ready pairs a refill starts (in the background)."""
POOL_BATCH = 192
"""Pairs made durable per refill: one fsync of the key store per this many new tips."""

_Cached = tuple[str, bytes]  # (epoch id, wrapped bytes) the clear key was unwrapped from


class KeyStore:
    def __init__(self, db: KeyDb, epochs: EpochFolder, *, cache_size: int = 4096,
                 rotate_every: float | None = None, rotation_batch: int = DEFAULT_BATCH) -> None:
        self.db = db
        self.epochs = epochs
        self._cache: OrderedDict[str, tuple[_Cached, bytes]] = OrderedDict()
        self._cache_size = cache_size
        self._pool: deque[tuple[TipId, bytes]] = deque()
        self._refill: asyncio.Task[None] | None = None
        self._rotate_every = rotate_every
        self._rotation_batch = rotation_batch
        self._rotator: asyncio.Task[None] | None = None
        self.last_rotation_error: str | None = None

    async def open(self) -> None:
        await self.db.open()
        if self._rotate_every is not None:
            self._rotator = asyncio.create_task(self._rotation_loop(self._rotate_every))

    async def close(self) -> None:
        if self._rotator is not None:
            self._rotator.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rotator
            self._rotator = None
        if self._refill is not None:
            await asyncio.gather(self._refill, return_exceptions=True)
        await self.db.close()

    # -- writing keys ----------------------------------------------------------

    def _wrap_current(self, conn: Any, tip_ids_keys: Sequence[tuple[str, bytes]]
                      ) -> tuple[str, list[bytes]]:
        """Wrap under the epoch current *inside this transaction* (a rotation may be under way)."""
        epoch_id = current_epoch(conn, self.db.kind)
        epoch_key = self.epochs.key(epoch_id)
        return epoch_id, [wrap_tip_key(epoch_key, key, epoch_id=epoch_id, tip_id=tip_id)
                          for tip_id, key in tip_ids_keys]

    async def create(self, tip_id: str, key: bytes | None = None) -> bytes:
        """Store a new tip's key (fresh unless given); durable before it returns.

        Returns the key on record: if the tip already had one, that one wins.
        """
        key = key if key is not None else new_storage_key()

        def insert(conn: Any) -> tuple[_Cached, bytes]:
            row = conn.execute("SELECT epoch_id, wrapped FROM tip_keys WHERE tip_id = ?",
                               (tip_id,)).fetchone()
            if row is not None:
                stored = (str(row[0]), bytes(row[1]))
                return stored, self._unwrap(tip_id, stored)
            epoch_id, (wrapped,) = self._wrap_current(conn, [(tip_id, key)])
            conn.execute("INSERT INTO tip_keys (tip_id, epoch_id, wrapped) VALUES (?, ?, ?)",
                         (tip_id, epoch_id, wrapped))
            return (epoch_id, wrapped), key

        stored, clear = await self.db.write(insert)
        self._remember(tip_id, stored, clear)
        return clear

    async def take_new(self) -> tuple[TipId, bytes]:
        """A fresh tip id and its storage key, both already durable in the key store."""
        while not self._pool:
            await asyncio.shield(self._start_refill())
        pair = self._pool.popleft()
        if len(self._pool) < POOL_LOW:
            self._start_refill()
        return pair

    def _start_refill(self) -> asyncio.Task[None]:
        if self._refill is None or self._refill.done():
            self._refill = asyncio.create_task(self._make_pairs(POOL_BATCH))
            # A failed refill is reported to whoever awaits it; a background one is retried.
            self._refill.add_done_callback(lambda t: t.cancelled() or t.exception())
        return self._refill

    async def _make_pairs(self, n: int) -> None:
        pairs = [(new_tip_id(), new_storage_key()) for _ in range(n)]

        def insert(conn: Any) -> list[tuple[TipId, bytes]]:
            made = []
            epoch_id, wrapped_all = self._wrap_current(conn, pairs)
            for (tip_id, key), wrapped in zip(pairs, wrapped_all, strict=True):
                if conn.execute("INSERT INTO tip_keys (tip_id, epoch_id, wrapped) VALUES"
                                " (?, ?, ?) ON CONFLICT DO NOTHING RETURNING tip_id",
                                (tip_id, epoch_id, wrapped)).fetchone() is not None:
                    made.append((tip_id, key))
            return made

        self._pool.extend(await self.db.write(insert))  # only once the commit is durable

    # -- reading keys ----------------------------------------------------------

    def _unwrap(self, tip_id: str, stored: _Cached) -> bytes:
        epoch_id, wrapped = stored
        return unwrap_tip_key(self.epochs.key(epoch_id), wrapped, epoch_id=epoch_id,
                              tip_id=tip_id)

    async def get(self, tip_id: str) -> bytes | None:
        """The tip's key, or None once it has been destroyed (on any front end)."""
        for attempt in range(3):
            row = await self.db.fetchone(
                "SELECT epoch_id, wrapped FROM tip_keys WHERE tip_id = ?", (tip_id,))
            if row is None:
                self._cache.pop(tip_id, None)
                return None
            stored = (str(row[0]), bytes(row[1]))
            hit = self._cache.get(tip_id)
            if hit is not None and hit[0] == stored:
                self._cache.move_to_end(tip_id)
                return hit[1]
            try:
                key = self._unwrap(tip_id, stored)
            except EpochKeyMissing:
                if attempt == 2:
                    raise
                continue  # re-wrapped and its old epoch destroyed since the read: read again
            self._remember(tip_id, stored, key)
            return key
        raise AssertionError("unreachable")

    def _remember(self, tip_id: str, stored: _Cached, key: bytes) -> None:
        self._cache[tip_id] = (stored, key)
        self._cache.move_to_end(tip_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    # -- shredding ---------------------------------------------------------------

    async def destroy(self, tip_id: str) -> None:
        await self.destroy_many([tip_id])

    async def destroy_many(self, tip_ids: Sequence[str]) -> int:
        """The shred itself: delete the keys durably (then, on SQLite, checkpoint the WAL away).

        ``secure_delete`` zeroes the freed cells in the page written to the
        WAL; the TRUNCATE checkpoint copies that page over the old one in the
        file and empties the WAL. Where a copy of the wrapped key does linger
        (PostgreSQL's WAL and dead tuples, any backup), it is wrapped under
        the current epoch key, which the next rotation destroys. Returns how
        many keys existed.
        """
        ids = list(tip_ids)
        for tip_id in ids:
            self._cache.pop(tip_id, None)

        def delete(conn: Any) -> int:
            return sum(conn.execute("DELETE FROM tip_keys WHERE tip_id = ?", (t,)).rowcount
                       for t in ids)

        count = await self.db.write(delete)
        if self.db.kind == "sqlite":
            await self.db.maintain(checkpoint_truncate)
        return count

    # -- rotation ------------------------------------------------------------------

    async def rotate(self, *, now: datetime | None = None, every: float | None = None,
                     wait: bool = True, batch: int | None = None) -> RotationReport:
        return await rotate(self.db, self.epochs, now=now or datetime.now(UTC),
                            batch=batch or self._rotation_batch, every=every, wait=wait)

    async def _rotation_loop(self, every: float) -> None:
        """Rotate once the current epoch is ``every`` old; finish an interrupted rotation."""
        interval = min(max(every / 10, 1.0), 3600.0)
        log = get_logger("hotline.keystore")
        while True:
            try:
                await self.rotate(every=every, wait=False)
                self.last_rotation_error = None
            except RotationBusy:
                pass  # another front end is rotating
            except Exception as e:
                self.last_rotation_error = type(e).__name__
                log.error("keystore.rotation_failed", error=type(e).__name__, exc_info=True)
            self.epochs.refresh()
            await asyncio.sleep(interval)

    async def ping(self) -> bool:
        """The key store answers a read (for /readyz)."""
        return await self.db.ping()
