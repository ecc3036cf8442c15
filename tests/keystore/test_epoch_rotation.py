"""Epoch keys: rotation keeps every live key, several front ends agree, old stores upgrade."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crypto import new_storage_key
from crypto.epoch import new_epoch_id, new_epoch_key, unwrap_tip_key
from hotline.errors import InstanceError
from hotline.keystore import KeyStore, open_sqlite_keystore
from hotline.keystore.offline import offline_keys
from hotline.keystore.rotation import epoch_status
from hotline.store.connection import open_sqlite


def _path(tmp_path: Path) -> Path:
    return tmp_path / "secrets" / "keystore.db"


def _bytes_below(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


@asynccontextmanager
async def front_end(path: Path, **kw: object) -> AsyncIterator[KeyStore]:
    """One front end's key store: its own writer, reader and caches on the shared files."""
    ks = open_sqlite_keystore(path, **kw)  # type: ignore[arg-type]
    await ks.open()
    try:
        yield ks
    finally:
        await ks.close()


async def _states(ks: KeyStore) -> dict[str, str]:
    return {e.id: e.state for e in await epoch_status(ks.db, ks.epochs)}


async def test_rotation_rewraps_every_live_key_and_destroys_the_old_epoch(tmp_path: Path) -> None:
    path = _path(tmp_path)
    async with front_end(path) as ks:
        keys = {f"tip-{i}": await ks.create(f"tip-{i}") for i in range(23)}
        (first,) = ks.epochs.on_disk()
        assert not any(k in _bytes_below(path.parent) for k in keys.values())  # never in clear

        report = await ks.rotate(batch=5)

        assert report.retired == (first,) and report.rewrapped == 23
        assert ks.epochs.on_disk() == [report.created]
        assert not (path.parent / "epochs" / f"{first}.key").exists()
        assert await _states(ks) == {first: "destroyed", report.created: "current"}
        for tip_id, key in keys.items():
            assert await ks.get(tip_id) == key
    with offline_keys(path) as stored:  # what a fresh process reads from disk
        assert {t: stored.get(t) for t in keys} == keys


async def test_a_shred_on_one_front_end_is_seen_at_once_on_another(tmp_path: Path) -> None:
    path = _path(tmp_path)
    async with front_end(path) as a, front_end(path) as b:
        key = await a.create("tip-1")
        assert await b.get("tip-1") == key  # b has it in its cache now
        await a.destroy("tip-1")
        assert await b.get("tip-1") is None
        assert await a.get("tip-1") is None


async def test_a_front_end_reads_an_epoch_another_one_made(tmp_path: Path) -> None:
    path = _path(tmp_path)
    async with front_end(path) as a, front_end(path) as b:
        key = await a.create("tip-1")
        assert await b.get("tip-1") == key
        report = await a.rotate()
        assert await b.get("tip-1") == key  # row under an epoch b never loaded: folder re-read
        made = await b.create("tip-2")  # b wraps under the epoch a made current
        with offline_keys(path) as stored:
            assert stored.get("tip-2") == made
        b.epochs.refresh()
        assert report.retired[0] not in b.epochs._keys  # the destroyed key leaves b's memory


async def test_two_front_ends_rotating_while_both_write_lose_no_key(tmp_path: Path) -> None:
    path = _path(tmp_path)
    async with front_end(path, rotation_batch=3) as a, front_end(path, rotation_batch=3) as b:
        keys = {f"old-{i}": await a.create(f"old-{i}") for i in range(30)}

        async def write(ks: KeyStore, prefix: str) -> None:
            for i in range(20):
                keys[f"{prefix}-{i}"] = await ks.create(f"{prefix}-{i}")
                await asyncio.sleep(0)

        await asyncio.gather(a.rotate(), b.rotate(), write(a, "a"), write(b, "b"), a.rotate())
        pairs = [(await ks.take_new()) for ks in (a, b) for _ in range(3)]
        keys.update(pairs)
        for tip_id, key in keys.items():
            assert await a.get(tip_id) == key and await b.get(tip_id) == key
        states = await _states(a)
        assert list(states.values()).count("current") == 1
        assert "retiring" not in states.values()
        assert a.epochs.on_disk() == [e for e, s in states.items() if s == "current"]
    with offline_keys(path) as stored:
        assert {t: stored.get(t) for t in keys} == keys


async def test_rotation_waits_for_its_period(tmp_path: Path) -> None:
    path = _path(tmp_path)
    async with front_end(path) as ks:
        await ks.create("tip-1")
        (first,) = ks.epochs.on_disk()
        created = datetime.now(UTC)
        early = await ks.rotate(every=3600, now=created + timedelta(minutes=30))
        assert early.created is None and ks.epochs.on_disk() == [first]
        due = await ks.rotate(every=3600, now=created + timedelta(hours=2))
        assert due.created is not None and due.retired == (first,)


async def test_each_front_end_rotates_by_itself_once_the_epoch_is_old(tmp_path: Path) -> None:
    path = _path(tmp_path)
    async with front_end(path) as ks:
        key = await ks.create("tip-1")
    conn = sqlite3.connect(path)  # an epoch made 8 days ago
    conn.execute("UPDATE epochs SET created_at = ?", (
        (datetime.now(UTC) - timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ"),))
    conn.commit()
    conn.close()
    async with front_end(path, rotate_every=7 * 86400.0) as ks:
        for _ in range(1200):  # the background check runs at start (a bound, not a timing)
            if "destroyed" in (await _states(ks)).values():
                break
            await asyncio.sleep(0.05)
        states = await _states(ks)
        assert sorted(states.values()) == ["current", "destroyed"]
        assert await ks.get("tip-1") == key


def _v1_store(path: Path, keys: dict[str, bytes]) -> None:
    """A key store as every instance had it before epochs: keys in clear."""
    path.parent.mkdir(mode=0o700, parents=True)
    conn = open_sqlite(path)
    conn.execute("CREATE TABLE tip_keys (tip_id TEXT PRIMARY KEY, key BLOB NOT NULL)"
                 " STRICT, WITHOUT ROWID")
    conn.executemany("INSERT INTO tip_keys VALUES (?, ?)", list(keys.items()))
    conn.close()
    os.chmod(path, 0o600)


async def test_an_older_key_store_is_wrapped_once_at_start_and_no_clear_key_is_left(
        tmp_path: Path) -> None:
    path = _path(tmp_path)
    keys = {f"tip-{i}": new_storage_key() for i in range(40)}
    _v1_store(path, keys)
    assert any(k in path.read_bytes() for k in keys.values())  # the test can see them at all
    async with front_end(path) as ks:
        for tip_id, key in keys.items():
            assert await ks.get(tip_id) == key
        (epoch,) = ks.epochs.on_disk()
        row = await ks.db.fetchone("SELECT wrapped FROM tip_keys WHERE tip_id = 'tip-3'")
        assert unwrap_tip_key(ks.epochs.key(epoch), bytes(row[0]), epoch_id=epoch,
                              tip_id="tip-3") == keys["tip-3"]
        assert not any(k in _bytes_below(path.parent) for k in keys.values())
    async with front_end(path) as ks:  # second start: nothing to do, same epoch
        assert ks.epochs.on_disk() == [epoch]
        assert await ks.get("tip-39") == keys["tip-39"]


async def test_a_newer_key_store_is_refused(tmp_path: Path) -> None:
    path = _path(tmp_path)
    async with front_end(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("UPDATE ks_meta SET value = '99' WHERE name = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(InstanceError, match="newer than this Hotline"):
        async with front_end(path):
            pass


async def test_a_missing_epoch_key_is_a_clear_error(tmp_path: Path) -> None:
    path = _path(tmp_path)
    async with front_end(path) as ks:
        await ks.create("tip-1")
        (epoch,) = ks.epochs.on_disk()
    (path.parent / "epochs" / f"{epoch}.key").unlink()
    async with front_end(path) as ks:
        with pytest.raises(InstanceError, match="epoch key not on disk"):
            await ks.get("tip-1")


async def test_stray_epoch_files_from_a_crash_are_swept_by_the_next_rotation(
        tmp_path: Path) -> None:
    path = _path(tmp_path)
    async with front_end(path) as ks:
        key = await ks.create("tip-1")
        (first,) = ks.epochs.on_disk()
        stray = new_epoch_id()  # written, then the process died before its row committed
        ks.epochs.write(stray, new_epoch_key())
        report = await ks.rotate()
        assert report.swept == 1 and report.retired == (first,)
        assert ks.epochs.on_disk() == [report.created]
        # Marked destroyed, then the process died before the unlink: the file is swept too.
        ks.epochs.write(first, b"\x01" * 32)
        assert (await ks.rotate()).swept == 1
        assert first not in ks.epochs.on_disk()
        assert await ks.get("tip-1") == key
