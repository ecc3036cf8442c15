"""Epoch rotation: a new epoch key, every live tip key re-wrapped, the old key destroyed.

Steps, each its own durable transaction, so a rotation killed anywhere loses
no live key and the next one (or the next start-up) simply carries on:

1. ``begin``: the new epoch key is written to its file (fsynced) first; then
   one transaction marks the current epoch ``retiring`` and records the new
   one as ``current``. From here every new tip key is wrapped under the new
   epoch (writers read the current epoch inside their own transaction).
2. re-wrap in batches: rows still under the retiring epoch are unwrapped and
   wrapped under the current one, each update conditional on the row still
   being under the retiring epoch (a concurrent shred or a second rotator
   changes nothing).
3. ``finish``: in one transaction, only if no row names the retiring epoch any
   more, it is marked ``destroyed``; then its file is overwritten, fsynced and
   unlinked. Any copy of a key wrapped under it (a shredded tip's, lingering in
   a WAL, a dead tuple or a backup) is now unopenable.

Rotations are serialised by the key store's rotation lock; files of epochs
marked destroyed (a crash between 3's commit and its unlink) or named by no
row (a crash between 1's file and its commit) are swept under the same lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crypto import CryptoError
from crypto.epoch import new_epoch_id, new_epoch_key, unwrap_tip_key, wrap_tip_key

from ..errors import InstanceError
from ..logging import get_logger
from .backend import KeyDb, checkpoint_truncate
from .epochs import EpochFolder

DEFAULT_BATCH = 500


class RotationStuck(InstanceError):
    """A row under the retiring epoch cannot be re-wrapped: the old key is kept."""


@dataclass(frozen=True)
class RotationReport:
    created: str | None  # the new epoch (None: not due, or an interrupted one resumed)
    retired: tuple[str, ...]  # epochs whose key was destroyed
    rewrapped: int
    swept: int  # stray epoch files destroyed


def utc_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def current_epoch(conn: Any, kind: str) -> str:
    """The current epoch, read inside the caller's transaction.

    On PostgreSQL the row is share-locked, so a rotation's ``begin`` waits for
    this transaction to commit and its re-wrap then sees the new row.
    """
    sql = "SELECT id FROM epochs WHERE state = 'current'"
    for _ in range(3):  # READ COMMITTED: a rotation that committed meanwhile shows next time
        row = conn.execute(sql + (" FOR SHARE" if kind == "postgresql" else "")).fetchone()
        if row is not None:
            return str(row[0])
    raise InstanceError("the key store has no current epoch (run 'hotline keystore status')")


async def rotate(db: KeyDb, epochs: EpochFolder, *, now: datetime, batch: int = DEFAULT_BATCH,
                 every: float | None = None, wait: bool = True) -> RotationReport:
    """Rotate now (``every`` None) or only once the current epoch is ``every`` seconds old.

    An interrupted rotation is always finished first. RotationBusy if another
    holds the lock and ``wait`` is False.
    """
    async with db.rotation_lock(wait=wait):
        epochs.refresh()
        swept = await sweep(db, epochs)
        rows = await db.fetchall("SELECT id, created_at, state FROM epochs"
                                 " WHERE state <> 'destroyed'")
        retiring = [str(r[0]) for r in rows if r[2] == "retiring"]
        created = None
        if not retiring:
            current = [(str(r[0]), str(r[1])) for r in rows if r[2] == "current"]
            if not current:
                raise InstanceError("the key store has no current epoch")
            if every is not None and (now - parse_utc(current[0][1])).total_seconds() < every:
                return RotationReport(None, (), 0, swept)
            created = await _begin(db, epochs, now)
            retiring = [current[0][0]]
        moved = 0
        for old in retiring:
            moved += await _rewrap_all(db, epochs, old, batch)
            await _finish(db, epochs, old, now)
        if db.kind == "sqlite":
            await db.maintain(checkpoint_truncate)  # old wrapped copies leave the WAL too
        get_logger("hotline.keystore").info("keystore.rotated", created=created,
                                            retired=",".join(retiring), rewrapped=moved)
        return RotationReport(created, tuple(retiring), moved, swept)


async def _begin(db: KeyDb, epochs: EpochFolder, now: datetime) -> str:
    new_id, new_key = new_epoch_id(), new_epoch_key()
    epochs.write(new_id, new_key)  # durable before any row names it

    def begin(conn: Any) -> None:
        conn.execute("UPDATE epochs SET state = 'retiring' WHERE state = 'current'")
        conn.execute("INSERT INTO epochs (id, created_at, state) VALUES (?, ?, 'current')",
                     (new_id, utc_text(now)))

    try:
        await db.write(begin)
    except BaseException:
        epochs.destroy(new_id)
        raise
    return new_id


def rewrap_batch(conn: Any, kind: str, epochs: EpochFolder, old: str, batch: int) -> int:
    """Move up to ``batch`` keys from ``old`` to the current epoch; how many were moved."""
    current = current_epoch(conn, kind)
    old_key, new_key = epochs.key(old), epochs.key(current)
    rows = conn.execute("SELECT tip_id, wrapped FROM tip_keys WHERE epoch_id = ? LIMIT ?",
                        (old, batch)).fetchall()
    updates = []
    for tip_id, wrapped in rows:
        try:
            key = unwrap_tip_key(old_key, bytes(wrapped), epoch_id=old, tip_id=str(tip_id))
        except CryptoError as e:
            raise RotationStuck(
                f"tip {tip_id}: its stored key does not open under epoch {old} ({e}); the "
                "old epoch key is kept until this is resolved") from None
        updates.append((current, wrap_tip_key(new_key, key, epoch_id=current,
                                              tip_id=str(tip_id)), str(tip_id), old))
    conn.executemany("UPDATE tip_keys SET epoch_id = ?, wrapped = ? WHERE tip_id = ?"
                     " AND epoch_id = ?", updates)
    return len(rows)


async def _rewrap_all(db: KeyDb, epochs: EpochFolder, old: str, batch: int) -> int:
    total = 0
    while True:
        moved = await db.write(lambda conn: rewrap_batch(conn, db.kind, epochs, old, batch))
        total += moved
        if moved == 0:
            return total


async def _finish(db: KeyDb, epochs: EpochFolder, old: str, now: datetime) -> None:
    def finish(conn: Any) -> None:
        left = conn.execute("SELECT COUNT(*) FROM tip_keys WHERE epoch_id = ?",
                            (old,)).fetchone()[0]
        if left:
            raise RotationStuck(f"epoch {old}: {left} keys still under it; not destroyed")
        conn.execute("UPDATE epochs SET state = 'destroyed', destroyed_at = ? WHERE id = ?"
                     " AND state = 'retiring'", (utc_text(now), old))

    await db.write(finish)
    epochs.destroy(old)


async def sweep(db: KeyDb, epochs: EpochFolder) -> int:
    """Destroy epoch files no live row needs (call under the rotation lock)."""
    live = {str(r[0]) for r in await db.fetchall(
        "SELECT id FROM epochs WHERE state <> 'destroyed'")}
    return sum(epochs.destroy(e) for e in epochs.on_disk() if e not in live)


@dataclass(frozen=True)
class EpochInfo:
    id: str
    created_at: str
    state: str
    destroyed_at: str | None
    keys: int
    file_present: bool


async def epoch_status(db: KeyDb, epochs: EpochFolder) -> list[EpochInfo]:
    counts = {str(r[0]): int(r[1]) for r in await db.fetchall(
        "SELECT epoch_id, COUNT(*) FROM tip_keys GROUP BY epoch_id")}
    present = set(epochs.on_disk())
    return [EpochInfo(str(r[0]), str(r[1]), str(r[2]), None if r[3] is None else str(r[3]),
                      counts.get(str(r[0]), 0), str(r[0]) in present)
            for r in await db.fetchall("SELECT id, created_at, state, destroyed_at FROM epochs"
                                       " ORDER BY created_at, id")]
