"""Backups in two halves, restored into a fresh instance, then granted to a new advocate.

Everything through the real CLI and real server processes, as an administrator
would on the day a server dies and the only advocate's laptop is gone.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from crypto import TESTING, CryptoError, Identity, encrypt_identity, open_envelope, unwrap
from hotline.keystore.offline import offline_keys
from tests.conftest import Browser, free_port
from tests.helpers.instance import PASSPHRASE, make_instance
from tests.helpers.process import ServerProcess, run_cli

pytestmark = pytest.mark.slow
MARKER = "RESTORE-MARKER-p0o9i8"


async def _report(url: str, text: str) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        status, html = await Browser(url, session).report(text)
    assert status == 200 and 'class="receipt' in html


def _open_all_with(root: Path, holder: Identity) -> list[bytes]:
    """Every message of the instance, opened from its files with ``holder`` (no server)."""
    conn = sqlite3.connect(root / "hotline.db")
    rows = conn.execute("SELECT tip_id, envelope FROM messages").fetchall()
    conn.close()
    with offline_keys(root / "secrets" / "keystore.db") as keys:
        found = [(t, e, keys.get(t)) for t, e in rows]
    return [open_envelope(unwrap(k, bytes(e), label=t), holder).body for t, e, k in found
            if k is not None]


async def test_restore_into_a_fresh_instance_then_recover_to_a_new_advocate(
        tmp_path: Path) -> None:
    old = make_instance(tmp_path / "old")
    port = free_port()
    server = ServerProcess(old.root, port).start()
    try:
        await _report(server.url, f"they took my passport {MARKER}")
        db_backup, secrets_backup = tmp_path / "hotline-backup.db", tmp_path / "secrets.hlsb"
        out = run_cli("backup", str(old.root), str(db_backup)).stdout  # online
        assert "Backed up 1 tips" in out
        run_cli("backup-secrets", str(old.root), str(secrets_backup))
    finally:
        server.stop()
    assert db_backup.stat().st_mode & 0o077 == 0 and secrets_backup.stat().st_mode & 0o077 == 0
    assert MARKER.encode() not in db_backup.read_bytes() + secrets_backup.read_bytes()
    # The database backup holds no key: none of the old key store's keys are in it.
    with offline_keys(old.root / "secrets" / "keystore.db") as store:
        keys = [k for k in map(store.get, store.tip_ids()) if k is not None]
    assert keys and not any(k in db_backup.read_bytes() for k in keys)

    fresh = tmp_path / "new" / "instance"
    run_cli("init", str(fresh), "--recovery-pubkey", str(old.root / "recovery.pub"))
    recovery_key = str(tmp_path / "old" / "recovery.key")
    run_cli("restore", str(fresh), str(db_backup), "--secrets", str(secrets_backup),
            "--recovery-key", recovery_key)
    bodies = _open_all_with(fresh, old.recovery)
    assert len(bodies) == 1 and MARKER.encode() in bodies[0]

    # Alice, the only advocate on the tip, lost her key; Carol takes over.
    carol = Identity.generate("carol")
    (tmp_path / "carol.key").write_bytes(encrypt_identity(carol, PASSPHRASE, TESTING))
    (tmp_path / "carol.key.pub").write_bytes(carol.public.to_pub_file())
    run_cli("advocate", "remove", str(fresh), "alice")
    run_cli("advocate", "add", str(fresh), "--name", "carol", "--pubkey",
            str(tmp_path / "carol.key.pub"), "--fingerprint", carol.fingerprint)
    before = _envelope_bytes(fresh)
    done = json.loads(run_cli("recover", str(fresh), "--recovery-key", recovery_key,
                              "--to", "carol", "--json").stdout)
    assert done["messages"] == 1 and done["skipped"] == 0 and len(done["tips"]) == 1
    assert _envelope_bytes(fresh) == before  # append-only: a grant was added, nothing replaced
    again = json.loads(run_cli("recover", str(fresh), "--recovery-key", recovery_key,
                               "--to", "carol", "--tip", done["tips"][0], "--json").stdout)
    assert again["messages"] == 0 and _envelope_bytes(fresh) == before

    port = free_port()
    server = ServerProcess(fresh, port).start()
    try:
        tip = json.loads(run_cli("read", done["tips"][0], "--server", server.url, "--key",
                                 str(tmp_path / "carol.key"), "--json").stdout)
    finally:
        server.stop()
    assert MARKER in tip["messages"][0]["body"]
    assert tip["messages"][0]["granted_by"] == {"fingerprint": old.recovery.fingerprint,
                                                "name": old.recovery.name}
    with pytest.raises(CryptoError):  # carol is not a recipient: she reads through the grant
        _open_all_with(fresh, carol)


def _envelope_bytes(root: Path) -> dict[str, bytes]:
    conn = sqlite3.connect(root / "hotline.db")
    try:
        return {r[0]: bytes(r[1]) for r in conn.execute("SELECT id, envelope FROM messages")}
    finally:
        conn.close()


def test_restore_refuses_a_backup_made_for_another_recovery_key(tmp_path: Path) -> None:
    a = make_instance(tmp_path / "a")
    b = make_instance(tmp_path / "b")
    backup = tmp_path / "a.db"
    run_cli("backup", str(a.root), str(backup))
    proc = run_cli("restore", str(b.root), str(backup), check=False)
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and "recovery key" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_restore_refuses_a_downgrade(tmp_path: Path) -> None:
    a = make_instance(tmp_path / "a")
    backup = tmp_path / "a.db"
    run_cli("backup", str(a.root), str(backup))
    conn = sqlite3.connect(backup)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    proc = run_cli("restore", str(a.root), str(backup), check=False)
    assert proc.returncode != 0 and "downgrade" in proc.stderr
    assert (a.root / "hotline.db").exists()  # nothing was replaced


def test_restore_without_a_key_store_says_what_to_do_and_changes_nothing(tmp_path: Path) -> None:
    a = make_instance(tmp_path / "a")
    backup = tmp_path / "a.db"
    run_cli("backup", str(a.root), str(backup))
    (a.root / "secrets" / "keystore.db").unlink()
    before = (a.root / "hotline.db").read_bytes()
    proc = run_cli("restore", str(a.root), str(backup), check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert "has no key store" in proc.stderr and "--secrets FILE" in proc.stderr
    assert (a.root / "hotline.db").read_bytes() == before
    assert not (a.root / "backups").exists() or not list((a.root / "backups").glob("before-restore-*"))


def test_a_file_the_cli_cannot_use_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    a = make_instance(tmp_path / "a")
    (a.root / "hotline.db").write_bytes(b"this is not a database" * 100)
    proc = run_cli("backup", str(a.root), str(tmp_path / "b.db"), check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
