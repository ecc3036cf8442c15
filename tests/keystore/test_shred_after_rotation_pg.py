"""Issue 14's test on PostgreSQL: after shred + rotation, nothing on disk opens the envelope.

The key store is its own PostgreSQL database with its own role. Before the
shred a plain pg_dump of it is taken (a DBA's backup); after the shred its
deleted row lingers as a dead tuple and in the WAL. Scanned: the cluster's
whole data folder (heap files, WAL), the dump and the instance folder. Before
the rotation the attacker's procedure opens the shredded tip from them (so
the scan sees what is there); after it, nothing opens that tip, the recovery
key alone fails, and a tip not shredded still opens.
"""

from __future__ import annotations

import secrets
import sqlite3
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from crypto import CryptoError, open_envelope, unwrap
from hotline.keystore.rotation import epoch_status
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

MARKER = "PG-EPOCH-SHRED-1q2w3e"
KEPT = "PG-EPOCH-KEPT-9o8i7u"


def keystore_database(cluster: Any) -> str:
    """A database of its own, owned by a role of its own (not the main database's)."""
    name, role, password = (f"ks_{secrets.token_hex(4)}", f"ks_{secrets.token_hex(4)}",
                            secrets.token_hex(12))
    cluster.psql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    cluster.psql(f"CREATE DATABASE {name} OWNER {role}")
    return str(cluster.url(name, user=role, password=password))


def pg_dump(cluster: Any, url: str, out: Path) -> None:
    dump = cluster.bin_dir / "pg_dump"
    subprocess.run([str(dump), "--format=plain", "--file", str(out), url], check=True,
                   capture_output=True, timeout=120)


def _envelope(db: Path, tip_id: str) -> bytes:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (row,) = conn.execute("SELECT envelope FROM messages WHERE tip_id = ?",
                              (tip_id,)).fetchall()
    finally:
        conn.close()
    return bytes(row[0])


def _scan(inst: TestInstance, cluster: Any, dump: Path | None, epoch_ids: set[str],
          tips: list[str]) -> tuple[dict[str, set[bytes]], dict[str, bytes], dict[str, bytes]]:
    cluster.psql("CHECKPOINT")  # what shared buffers hold reaches the heap files too
    files = files_under(inst.root, cluster.data_dir, *([dump] if dump else []))
    epochs = epoch_keys_on_disk(files)
    return opened_tip_keys(wrapped_candidates(files), epochs, epoch_ids, tips), epochs, files


async def test_after_shred_and_rotation_nothing_in_the_cluster_or_a_dump_opens_the_envelope(
        tmp_path: Path, pg_cluster: Any) -> None:
    if pg_cluster.data_dir is None:
        pytest.skip("HOTLINE_TEST_DATABASE_URL: the server's data folder is not ours to scan")
    url = keystore_database(pg_cluster)
    inst = make_instance(tmp_path)
    dump = tmp_path / "keystore-before-shred.sql"  # a DBA's backup of the key store database
    old_db = tmp_path / "hotline-before-shred.db"
    async with opened(inst.root, HOTLINE_KEYSTORE_URL=url) as s:
        assert s.keystore.db.kind == "postgresql"
        doomed = await web_tip(s, f"please help {MARKER}")
        kept = await web_tip(s, f"this one stays {KEPT}")
        await age_tip(s, doomed.tip_id, days=120, status="closed")
        await age_tip(s, kept.tip_id, days=120, status="in_progress")
        doomed_key = await s.keystore.get(doomed.tip_id)
        assert doomed_key is not None
        (first_epoch,) = [e.id for e in await epoch_status(s.keystore.db, s.keystore.epochs)
                          if e.state == "current"]
        pg_dump(pg_cluster, url, dump)
        conn = sqlite3.connect(inst.root / "hotline.db")
        backup_database(conn, old_db)
        conn.close()

        deleted = await retention_pass(s.config, s.db, s.keystore, s.metrics)
        assert [d.tip_id for d in deleted] == [doomed.tip_id]
        survivor = _envelope(old_db, doomed.tip_id)
        tips = [doomed.tip_id, kept.tip_id]

        # Before the rotation the shredded tip's key is still there to find and open, from
        # the dump and from the cluster's own files alone (dead tuple, WAL):
        found, _, _ = _scan(inst, pg_cluster, dump, {first_epoch}, tips)
        assert doomed_key in found[doomed.tip_id]
        in_cluster, _, _ = _scan(inst, pg_cluster, None, {first_epoch}, tips)
        assert doomed_key in in_cluster[doomed.tip_id]
        assert envelope_opens(found[doomed.tip_id], survivor, doomed.tip_id)

        report = await s.keystore.rotate()
        assert report.retired == (first_epoch,)
        epoch_ids = {first_epoch, *(e for e in [report.created] if e)}
        found, epochs, files = _scan(inst, pg_cluster, dump, epoch_ids, tips)
    assert [n for n, data in files.items() if doomed_key in data] == []
    assert first_epoch not in epochs and epochs
    assert doomed.tip_id not in found
    assert not envelope_opens(set().union(*found.values()), survivor, doomed.tip_id)
    with pytest.raises(CryptoError):
        open_envelope(survivor, inst.recovery)
    kept_env = _envelope(inst.root / "hotline.db", kept.tip_id)
    (kept_key,) = [k for k in found[kept.tip_id] if envelope_opens([k], kept_env, kept.tip_id)]
    assert KEPT.encode() in open_envelope(unwrap(kept_key, kept_env, label=kept.tip_id),
                                          inst.recovery).body
