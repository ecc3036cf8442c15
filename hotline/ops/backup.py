"""Backups in two halves that are kept apart, and the restore that joins them.

Why two halves (CRYPTO.md §13): every envelope at rest is wrapped under its
tip's storage key, held in ``secrets/keystore.db``. Shredding a tip destroys
that key, which makes every copy of its envelopes dead, including copies in
old database backups. That only holds if old *key store* copies do not live
as long as the database backups.

* ``backup_database`` — a consistent online snapshot of ``hotline.db``
  (SQLite backup API). It holds envelopes and metadata, never a key that
  opens them. Keep these as long as your policy allows.
* ``backup_secrets`` — the key store, its epoch keys and the server secret, sealed to the
  instance's offline **recovery key** (an envelope plus a secretstream part,
  the same construction as a report). A stolen copy is useless without the
  recovery key. Keep these only for a short rotation (e.g. 7 days): a tip
  shredded today stays readable from (database backup + secrets backup +
  recovery key) until the last secrets backup older than today is gone.

``restore`` puts a database backup (and, if given, a secrets backup opened
with the recovery key) into an instance folder, after checking that they
belong to the same instance and recovery key. The service must be stopped.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from crypto import (
    CryptoError,
    EnvelopeContext,
    Identity,
    decrypt_part_bytes,
    encrypt_part_bytes,
    open_envelope,
    seal,
)
from crypto.epoch import EPOCH_ID

from ..config import load_config
from ..errors import InstanceError, UsageError
from ..instance import InstancePaths
from ..keystore import EpochFolder, epochs_dir_for, initialise_keystore, keystore_target
from ..keystore.sqlite_db import held_lock
from ..server_secret import load_server_secret
from ..store.connection import open_sqlite
from ..store.factory import sync_transaction
from ..store.migrate import backup_database as _snapshot
from ..store.migrate import check_not_newer
from ..store.seam import store_target
from .instance_check import load_recovery_pub, refuse_if_running

SECRETS_MAGIC = b"HLSB\x01"
SECRETS_FORMAT = "hotline-secrets-backup-v1"
_KEYSTORE_PART = 1


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    schema_version: int
    tips: int
    size: int


def _refuse_existing(out: Path) -> None:
    if out.exists():
        raise UsageError(f"{out}: already exists; refusing to overwrite a backup")


def refuse_postgres(root: Path, verb: str) -> None:
    """``hotline backup``/``restore`` copy a SQLite file; PostgreSQL has its own tools."""
    if store_target(root).kind == "postgresql":
        raise UsageError(
            f"this instance keeps its data on PostgreSQL: 'hotline {verb}' copies a SQLite "
            f"database only. Use pg_dump / pg_restore (or the server's point-in-time "
            f"recovery) for the database; 'hotline backup-secrets' still saves the secrets")


def backup_database(root: Path, out: Path) -> BackupInfo:
    refuse_postgres(root, "backup")
    """Snapshot the live database to ``out`` (0600); the service may keep running."""
    paths = InstancePaths(root)
    if not paths.database.exists():
        raise InstanceError(f"{paths.database}: no database (is {root} an instance?)")
    _refuse_existing(out)
    conn = open_sqlite(paths.database)
    try:
        _snapshot(conn, out)
    finally:
        conn.close()
    return inspect_backup(out)


def inspect_backup(path: Path) -> BackupInfo:
    """Open a database backup read-only and check it is whole."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tips = int(conn.execute("SELECT COUNT(*) FROM tips").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise UsageError(f"{path}: not a readable Hotline database backup ({e})") from None
    if ok != "ok":
        raise UsageError(f"{path}: the backup is damaged (integrity check: {ok})")
    return BackupInfo(path, version, tips, path.stat().st_size)


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _instance_id(root: Path) -> str:
    target = store_target(root)
    if target.kind == "postgresql":
        with sync_transaction(target) as pg:
            value = _meta(pg, "instance_id")
    else:
        conn = sqlite3.connect(f"file:{target.path}?mode=ro", uri=True)
        try:
            value = _meta(conn, "instance_id")
        finally:
            conn.close()
    if not value:
        raise InstanceError(f"{target.describe()}: no instance id")
    return value


# -- the secrets half ---------------------------------------------------------


def backup_secrets(root: Path, out: Path) -> Path:
    """Key store + server secret, sealed to the instance's recovery key, at ``out`` (0600)."""
    paths = InstancePaths(root)
    _refuse_existing(out)
    recovery = load_recovery_pub(paths)
    instance_id = _instance_id(root)
    try:
        secret_text = paths.server_secret.read_text(encoding="utf-8")
    except OSError as e:
        raise InstanceError(f"{paths.server_secret}: cannot read ({e.strerror})") from None
    load_server_secret(paths.server_secret, {})  # refuse to back up a broken one
    target = keystore_target(root, load_config(root)["keystore.database"])
    if target.kind == "postgresql":
        raise UsageError(
            f"the key store is its own PostgreSQL database ({target.describe()}): it is "
            "deliberately not in any backup Hotline makes; keep it available with a streaming "
            "replica (docs/deploy.md, 'The key store on PostgreSQL')")
    initialise_keystore(paths.keystore)  # an older key store: upgraded (wrapped) first
    folder = EpochFolder(epochs_dir_for(paths.keystore))
    with held_lock(folder.lock_path()):  # no rotation between the snapshot and its epoch keys
        keystore = _keystore_bytes(paths.keystore)
        epochs = _epoch_files(folder)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    ctx = EnvelopeContext(instance_id, "secrets-backup", "b" + stamp, "note", "web")
    doc = {"format": SECRETS_FORMAT, "instance_id": instance_id, "created_at": stamp,
           "server_secret": secret_text, "epochs": epochs}
    sealed = seal(ctx, json.dumps(doc).encode(), [recovery.recipient()])
    part = encrypt_part_bytes(ctx, sealed.message_key, _KEYSTORE_PART, keystore)
    _write_private(out, SECRETS_MAGIC + struct.pack(">I", len(sealed.envelope))
                   + sealed.envelope + part)
    return out


def _keystore_bytes(path: Path) -> bytes:
    """A consistent snapshot of the key store as one SQLite file image, in memory only."""
    if not path.exists():
        raise InstanceError(f"{path}: key store not found")
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    mem = sqlite3.connect(":memory:")
    try:
        src.backup(mem)
        return mem.serialize()
    finally:
        mem.close()
        src.close()


def _epoch_files(folder: EpochFolder) -> dict[str, str]:
    """Every epoch key file the key store's rows may name, base64 (sealed with the rest).

    Read under the rotation lock, with the snapshot: a rotation finishing in
    between would destroy an epoch key the snapshot's rows still name.
    """
    return {epoch_id: base64.b64encode(folder.path(epoch_id).read_bytes()).decode()
            for epoch_id in folder.on_disk()}


@dataclass(frozen=True)
class SecretsBundle:
    instance_id: str
    created_at: str
    server_secret: str
    keystore: bytes
    epochs: dict[str, bytes] = field(default_factory=dict)


def open_secrets(path: Path, recovery: Identity) -> SecretsBundle:
    """Open a secrets backup with the recovery key; every failure names the file."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror})") from None
    if not data.startswith(SECRETS_MAGIC) or len(data) < len(SECRETS_MAGIC) + 4:
        raise UsageError(f"{path}: not a Hotline secrets backup")
    (n,) = struct.unpack(">I", data[len(SECRETS_MAGIC):len(SECRETS_MAGIC) + 4])
    start = len(SECRETS_MAGIC) + 4
    envelope, part = data[start:start + n], data[start + n:]
    try:
        opened = open_envelope(envelope, recovery)
        doc = json.loads(opened.body)
        keystore = decrypt_part_bytes(opened.context, opened.message_key, _KEYSTORE_PART, part)
    except CryptoError as e:
        raise UsageError(f"{path}: cannot open with this recovery key ({e})") from None
    if doc.get("format") != SECRETS_FORMAT or opened.context.tip_id != "secrets-backup":
        raise UsageError(f"{path}: not a Hotline secrets backup")
    if doc.get("instance_id") != opened.context.instance_id:
        raise UsageError(f"{path}: the backup's instance id does not match its envelope")
    epochs = doc.get("epochs", {})  # none in backups from before epoch keys
    if not isinstance(epochs, dict) or not all(
            isinstance(k, str) and EPOCH_ID.match(k) and isinstance(v, str)
            for k, v in epochs.items()):
        raise UsageError(f"{path}: the backup's epoch keys are malformed")
    return SecretsBundle(opened.context.instance_id, str(doc["created_at"]),
                         str(doc["server_secret"]), keystore,
                         {k: base64.b64decode(v) for k, v in epochs.items()})


# -- restore -------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreInfo:
    instance_id: str
    tips: int
    tips_without_key: int
    previous: Path | None  # where the replaced database was kept


def restore(root: Path, backup: Path, secrets: SecretsBundle | None = None) -> RestoreInfo:
    """Replace ``root``'s database (and secrets, if given) with the backups."""
    refuse_postgres(root, "restore")
    paths = InstancePaths(root)
    if paths.config.exists() and keystore_target(
            root, load_config(root)["keystore.database"]).kind == "postgresql":
        raise UsageError("restore copies SQLite files only; this instance's key store is its own "
                         "PostgreSQL database (docs/deploy.md, 'The key store on PostgreSQL')")
    if not paths.config.exists():
        raise InstanceError(f"{root}: not an instance (run 'hotline init' first, with the "
                            "same --recovery-pubkey)")
    refuse_if_running(root)
    info = inspect_backup(backup)
    check_not_newer(info.schema_version, str(backup))
    backup_instance, backup_recovery = _backup_identity(backup)
    recovery = load_recovery_pub(paths)
    if backup_recovery != recovery.fingerprint:
        raise UsageError(f"{backup}: made for recovery key {backup_recovery}, but "
                         f"{paths.recovery_pub} is {recovery.fingerprint}")
    if secrets is not None and secrets.instance_id != backup_instance:
        raise UsageError(f"the secrets backup is for instance {secrets.instance_id}, the "
                         f"database backup for {backup_instance}")
    if secrets is None and not paths.keystore.exists():
        raise UsageError(
            f"{root}: has no key store ({paths.keystore}), so the restored tips could not be "
            "opened or deleted: give --secrets FILE (from 'hotline backup-secrets') with "
            "--recovery-key FILE; nothing was changed")
    previous = _set_aside(paths)
    if secrets is not None:
        _install_secrets(paths, secrets)
    _install_database(paths, backup)
    missing = _tips_without_key(paths)
    return RestoreInfo(backup_instance, info.tips, missing, previous)


def _backup_identity(backup: Path) -> tuple[str, str]:
    conn = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        instance_id, recovery = _meta(conn, "instance_id"), _meta(conn, "recovery_fingerprint")
    finally:
        conn.close()
    if not instance_id or not recovery:
        raise UsageError(f"{backup}: not a Hotline database backup (no instance id)")
    return instance_id, recovery


def _set_aside(paths: InstancePaths) -> Path | None:
    """Keep the database being replaced as a backup beside the others, then remove it."""
    if not paths.database.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = paths.root / "backups" / f"before-restore-{stamp}.db"
    conn = open_sqlite(paths.database)
    try:
        _snapshot(conn, kept)
    finally:
        conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(paths.database) + suffix).unlink(missing_ok=True)
    return kept


def _install_database(paths: InstancePaths, backup: Path) -> None:
    _write_private(paths.database, backup.read_bytes())
    conn = open_sqlite(paths.database)  # back to WAL, as every Hotline connection
    conn.close()


def _install_secrets(paths: InstancePaths, secrets: SecretsBundle) -> None:
    paths.secrets_dir.mkdir(mode=0o700, exist_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(paths.keystore) + suffix).unlink(missing_ok=True)
    _write_private(paths.keystore, secrets.keystore)
    folder = epochs_dir_for(paths.keystore)
    for epoch_id, data in secrets.epochs.items():
        _write_private(folder / f"{epoch_id}.key", data)
    _write_private(paths.server_secret, secrets.server_secret.encode())
    load_server_secret(paths.server_secret, {})


def _tips_without_key(paths: InstancePaths) -> int:
    conn = sqlite3.connect(f"file:{paths.database}?mode=ro", uri=True)
    try:
        conn.execute("ATTACH DATABASE ? AS ks", (f"file:{paths.keystore}?mode=ro",))
        return int(conn.execute(
            "SELECT COUNT(*) FROM tips WHERE id NOT IN (SELECT tip_id FROM ks.tip_keys)"
        ).fetchone()[0])
    finally:
        conn.close()


def _write_private(path: Path, data: bytes) -> None:
    """Write atomically with mode 0600 (never briefly world-readable), fsynced."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
