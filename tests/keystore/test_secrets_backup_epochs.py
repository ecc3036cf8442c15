"""A secrets backup carries the epoch keys its key store needs, so it restores after rotations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crypto import open_envelope, unwrap
from hotline.instance_setup import create_instance
from hotline.keystore.offline import offline_keys
from hotline.ops.backup import backup_database, backup_secrets, open_secrets, restore
from tests.helpers.instance import make_instance
from tests.ops.helpers import opened, web_tip

MARKER = "BACKUP-EPOCH-5t6y7u"


async def test_a_secrets_backup_restores_after_its_epoch_was_rotated_away(
        tmp_path: Path) -> None:
    inst = make_instance(tmp_path / "old")
    async with opened(inst.root) as s:
        tip = await web_tip(s, f"help {MARKER}")
        (epoch,) = s.keystore.epochs.on_disk()
    db_backup, secrets_backup = tmp_path / "db.bak", tmp_path / "secrets.hlsb"
    backup_database(inst.root, db_backup)
    backup_secrets(inst.root, secrets_backup)
    async with opened(inst.root) as s:
        await s.keystore.rotate()  # the live instance no longer has the backup's epoch key
        assert epoch not in s.keystore.epochs.on_disk()

    fresh = tmp_path / "new" / "instance"
    create_instance(fresh, inst.recovery.public)  # a new machine, the same recovery key
    restore(fresh, db_backup, open_secrets(secrets_backup, inst.recovery))

    assert (fresh / "secrets" / "epochs" / f"{epoch}.key").exists()
    conn = sqlite3.connect(fresh / "hotline.db")
    (envelope,) = [bytes(r[0]) for r in conn.execute(
        "SELECT envelope FROM messages WHERE tip_id = ?", (tip.tip_id,))]
    conn.close()
    with offline_keys(fresh / "secrets" / "keystore.db") as keys:
        key = keys.get(tip.tip_id)
    assert key is not None
    body = open_envelope(unwrap(key, envelope, label=tip.tip_id), inst.recovery).body
    assert MARKER.encode() in body
