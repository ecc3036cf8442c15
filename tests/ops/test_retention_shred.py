"""Crypto-shredding: the key goes first, then the rows, then the bytes themselves."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crypto import CryptoError, open_envelope, unwrap
from hotline.ops.runtime import retention_pass
from hotline.store.migrate import backup_database
from tests.helpers import store
from tests.helpers.instance import make_instance
from tests.ops.helpers import age_tip, holders, instance_bytes, opened, sms_tip, web_tip

MARKER = "SHRED-MARKER-q8w7e6"


def _stored(root: Path, tip_id: str) -> tuple[bytes, list[bytes]]:
    conn = sqlite3.connect(root / "hotline.db")
    try:
        env = conn.execute("SELECT envelope FROM messages WHERE tip_id = ?", (tip_id,)).fetchone()
        blobs = conn.execute("SELECT a.blob FROM attachments a JOIN messages m ON m.id ="
                             " a.message_id WHERE m.tip_id = ?", (tip_id,)).fetchall()
    finally:
        conn.close()
    return bytes(env[0]), [bytes(b[0]) for b in blobs]


def _slices(blob: bytes) -> list[bytes]:
    """Distinctive 32-byte pieces from the start, middle and end of a ciphertext."""
    return [blob[8:40], blob[len(blob) // 2:len(blob) // 2 + 32], blob[-32:]]


async def test_a_shredded_tip_is_gone_from_the_database_its_wal_and_the_key_store(
        tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    async with opened(inst.root) as s:
        doomed = await web_tip(s, f"please help {MARKER}", attachment=MARKER.encode() * 300)
        kept = await web_tip(s, "another report that stays")
        await age_tip(s, doomed.tip_id, days=120, status="closed")
        await age_tip(s, kept.tip_id, days=120, status="in_progress")  # open: never by default
        wrapped, blobs = _stored(inst.root, doomed.tip_id)
        storage_key = await s.keystore.get(doomed.tip_id)
        assert storage_key is not None
        old_copy = tmp_path / "old-backup.db"  # an old backup still holds the envelope
        conn = sqlite3.connect(inst.root / "hotline.db")
        backup_database(conn, old_copy)
        conn.close()
        needles = [*_slices(wrapped), *(p for b in blobs for p in _slices(b)), storage_key]
        before = instance_bytes(inst.root)
        assert any(holders(before, n) for n in needles)  # the test can see them at all

        deleted = await retention_pass(s.config, s.db, s.keystore, s.metrics)

        assert [(d.tip_id, d.reason) for d in deleted] == [(doomed.tip_id, "retention")]
        during = instance_bytes(inst.root)  # service still open: WAL and -shm present
        assert {n.hex()[:16]: holders(during, n) for n in needles} == \
            {n.hex()[:16]: [] for n in needles}
        assert await s.keystore.get(doomed.tip_id) is None
        assert await s.keystore.get(kept.tip_id) is not None
    after = instance_bytes(inst.root)
    assert {n.hex()[:16]: holders(after, n) for n in needles} == {n.hex()[:16]: [] for n in needles}

    conn = sqlite3.connect(inst.root / "hotline.db")
    try:
        for table in ("tips", "messages", "tip_advocates", "deletion_requests"):
            n = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE "  # noqa: S608
                             f"{'id' if table == 'tips' else 'tip_id'} = ?",
                             (doomed.tip_id,)).fetchone()[0]
            assert n == 0, table
        assert conn.execute("SELECT COUNT(*) FROM attachments").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM tips").fetchone()[0] == 1
        audit = conn.execute("SELECT actor, detail FROM audit WHERE action = 'tip.deleted'"
                             " AND tip_id = ?", (doomed.tip_id,)).fetchall()
    finally:
        conn.close()
    assert audit == [("retention", "reason=retention channel=web messages=1 attachments=1")]

    # The old backup still has the envelope, but nothing opens it any more.
    old = sqlite3.connect(old_copy)
    survivor = bytes(old.execute("SELECT envelope FROM messages WHERE tip_id = ?",
                                 (doomed.tip_id,)).fetchone()[0])
    old.close()
    assert survivor == wrapped
    with pytest.raises(CryptoError):
        open_envelope(survivor, inst.recovery)  # wrapped: the recovery key alone is not enough
    with pytest.raises(CryptoError):
        unwrap(bytes(32), survivor, label=doomed.tip_id)


@pytest.mark.both_stores
async def test_a_shred_deletes_every_row_of_the_tip_and_audits_it(tmp_path: Path,
                                                                  store_kind: str) -> None:
    """The row half of a shred, on SQLite and PostgreSQL (foreign keys found from each
    engine's catalogue); the bytes half is SQLite's (the test above)."""
    inst = make_instance(tmp_path)
    async with opened(inst.root) as s:
        doomed = await sms_tip(s, f"please help {MARKER}", "+14155550123")
        kept = await web_tip(s, "another report that stays")
        await age_tip(s, doomed.tip_id, days=120, status="closed")
        await age_tip(s, kept.tip_id, days=120, status="in_progress")
        assert s.db.kind == store_kind
        deleted = await retention_pass(s.config, s.db, s.keystore, s.metrics)
        assert [(d.tip_id, d.reason) for d in deleted] == [(doomed.tip_id, "retention")]
    for table in ("tips", "messages", "tip_advocates", "escalations", "twilio_jobs"):
        column = "id" if table == "tips" else "tip_id"
        assert store.query(inst.root, f"SELECT COUNT(*) FROM {table} WHERE {column} = ?",  # noqa: S608
                           (doomed.tip_id,)) == [(0,)], table
    assert store.query(inst.root, "SELECT id FROM tips") == [(kept.tip_id,)]
    assert store.query(inst.root, "SELECT actor, detail FROM audit WHERE action = 'tip.deleted'"
                       " AND tip_id = ?", (doomed.tip_id,)) == \
        [("retention", "reason=retention channel=sms messages=1 attachments=0")]


async def test_the_kept_tip_still_opens_with_the_recovery_key_after_a_shred(
        tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    async with opened(inst.root) as s:
        doomed = await web_tip(s, "goes")
        kept = await web_tip(s, f"stays {MARKER}")
        await age_tip(s, doomed.tip_id, days=100, status="closed")
        await retention_pass(s.config, s.db, s.keystore, s.metrics)
        key = await s.keystore.get(kept.tip_id)
        row = await s.db.fetchone("SELECT envelope FROM messages WHERE tip_id = ?", (kept.tip_id,))
    assert key is not None and row is not None
    opened_msg = open_envelope(unwrap(key, bytes(row[0]), label=kept.tip_id), inst.recovery)
    assert MARKER.encode() in opened_msg.body
