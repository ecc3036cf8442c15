"""Issue 14's test on SQLite: after shred + rotation, nothing on disk opens the envelope.

Old copies are left in the instance folder on purpose (a database backup and
a file-level copy of the key store and its WAL taken before the shred, as a
careless backup or a seized snapshot would hold them). Before the rotation
the attacker's procedure (``scan.py``) opens the shredded tip from them: the
threat is real and the scan can see it. After the rotation it opens nothing
for that tip, the recovery key included, while a tip that was not shredded
still opens from the same files.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from crypto import CryptoError, open_envelope, unwrap
from hotline.ops.runtime import retention_pass
from hotline.store.migrate import backup_database
from tests.helpers.instance import make_instance
from tests.keystore.scan import (
    envelope_opens,
    epoch_keys_on_disk,
    files_under,
    opened_tip_keys,
    wrapped_candidates,
)
from tests.ops.helpers import age_tip, opened, web_tip

if TYPE_CHECKING:
    from tests.helpers.instance import TestInstance

MARKER = "EPOCH-SHRED-7y6t5r"
KEPT = "EPOCH-KEPT-3e4r5t"


def _one(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _attack(inst: TestInstance, doomed: str, kept: str, survivor: bytes,
            epoch_ids: set[str]) -> tuple[dict[str, set[bytes]], dict[str, bytes]]:
    """Everything the instance folder gives up: tip keys opened, epoch keys found."""
    files = files_under(inst.root)
    epochs = epoch_keys_on_disk(files)
    found = opened_tip_keys(wrapped_candidates(files), epochs, epoch_ids, [doomed, kept])
    return found, epochs


async def test_after_shred_and_rotation_nothing_on_disk_opens_the_envelope(
        tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    old = inst.root / "backups" / "before-shred"
    keystore = inst.root / "secrets" / "keystore.db"
    async with opened(inst.root) as s:
        doomed = await web_tip(s, f"please help {MARKER}", attachment=MARKER.encode() * 200)
        kept = await web_tip(s, f"this one stays {KEPT}")
        await age_tip(s, doomed.tip_id, days=120, status="closed")
        await age_tip(s, kept.tip_id, days=120, status="in_progress")
        doomed_key = await s.keystore.get(doomed.tip_id)
        assert doomed_key is not None
        old.mkdir(parents=True)
        conn = sqlite3.connect(inst.root / "hotline.db")
        backup_database(conn, old / "hotline.db")
        conn.close()
        for suffix in ("", "-wal"):  # a file-level copy of the key store, WAL and all
            shutil.copyfile(str(keystore) + suffix, old / f"keystore.db{suffix}")
        (first_epoch,) = s.keystore.epochs.on_disk()

        deleted = await retention_pass(s.config, s.db, s.keystore, s.metrics)
        assert [d.tip_id for d in deleted] == [doomed.tip_id]
        (survivor,) = [bytes(r[0]) for r in _one(  # type: ignore[arg-type]
            old / "hotline.db", "SELECT envelope FROM messages WHERE tip_id = ?",
            (doomed.tip_id,))]

        # Before the rotation: the old key store copy still gives the shredded tip up.
        found, _ = _attack(inst, doomed.tip_id, kept.tip_id, survivor, {first_epoch})
        assert doomed_key in found[doomed.tip_id]
        assert envelope_opens(found[doomed.tip_id], survivor, doomed.tip_id)

        report = await s.keystore.rotate()
        assert report.retired == (first_epoch,)
        live = {str(r[0]) for r in _one(keystore, "SELECT id FROM epochs")}
        _assert_closed(inst, doomed.tip_id, doomed_key, kept.tip_id, survivor, live, first_epoch)
    _assert_closed(inst, doomed.tip_id, doomed_key, kept.tip_id, survivor, live, first_epoch)


def _assert_closed(inst: TestInstance, doomed: str, doomed_key: bytes, kept: str,
                   survivor: bytes, epoch_ids: set[str], destroyed: str) -> None:
    files = files_under(inst.root)
    assert [n for n, data in files.items() if doomed_key in data] == []  # never in clear
    found, epochs = _attack(inst, doomed, kept, survivor, epoch_ids)
    assert destroyed in epoch_ids and destroyed not in epochs and epochs
    assert doomed not in found
    every_key = set().union(*found.values())
    assert not envelope_opens(every_key, survivor, doomed)
    with pytest.raises(CryptoError):
        open_envelope(survivor, inst.recovery)  # wrapped at rest: the recovery key alone fails
    # The same procedure still opens the tip that was not shredded (the scan can see keys).
    (kept_env,) = [bytes(r[0]) for r in _one(  # type: ignore[arg-type]
        inst.root / "hotline.db", "SELECT envelope FROM messages WHERE tip_id = ?", (kept,))]
    (kept_key,) = [k for k in found[kept] if envelope_opens([k], kept_env, kept)]
    assert KEPT.encode() in open_envelope(unwrap(kept_key, kept_env, label=kept),
                                          inst.recovery).body
