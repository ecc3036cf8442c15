"""Creating an instance folder and managing who is in it (admin side, no server).

These functions write straight to the instance's database (SQLite file or
PostgreSQL, through ``store.seam.sync_transaction``); they are safe while the
service runs (SQLite locks / PostgreSQL transactions; the service notices
directory changes through ``store.stamps``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crypto import PublicIdentity
from triage_rules import default_pack_dir

from .config import render_default_config
from .domain import Role
from .errors import Conflict, InstanceError, NotFound
from .instance import InstancePaths
from .keystore import initialise_keystore_target, keystore_target
from .keystore.engine import KEYSTORE_URL_ENV, KEYSTORE_URL_FILE
from .server_secret import generate_server_secret
from .store.factory import initialise_store, sync_transaction
from .store.queries import audit, utc_now_text
from .store.seam import (
    DATABASE_URL_ENV,
    DATABASE_URL_FILE,
    database_setting_error,
    is_postgres_url,
    store_target,
    without_password,
)


def create_instance(root: Path, recovery: PublicIdentity, *, public_url: str | None = None,
                    database: str | None = None, keystore_database: str | None = None) -> str:
    """Make a new instance folder; return its instance id. Refuses to overwrite.

    ``database``: a ``postgresql://`` URL to keep the instance's data on
    PostgreSQL (the config names it without its password; a password goes
    to ``secrets/database-url``, 0600). Default: SQLite in the folder.
    ``keystore_database``: the same for the per-tip key store, which must be a
    database of its own (``secrets/keystore-url``); default: ``secrets/keystore.db``.
    """
    paths = InstancePaths(root)
    if paths.config.exists() or paths.database.exists():
        raise InstanceError(f"{root}: already an instance; refusing to overwrite it")
    if database is not None and database != "sqlite" and not is_postgres_url(database):
        raise InstanceError(f"--database: {database_setting_error(database)}")
    if keystore_database is not None and keystore_database != "sqlite" and \
            not is_postgres_url(keystore_database):
        raise InstanceError(f"--keystore-database: {database_setting_error(keystore_database)}")
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    config = render_default_config()
    if public_url:
        config = config.replace('public_url = "http://127.0.0.1:8080"', f'public_url = "{public_url}"')
    if database and database != "sqlite":
        named = without_password(database).replace("\\", "\\\\").replace('"', '\\"')
        config = config.replace('database = "sqlite"', f'database = "{named}"', 1)  # [store]
    if keystore_database and keystore_database != "sqlite":
        named = without_password(keystore_database).replace("\\", "\\\\").replace('"', '\\"')
        head, sep, tail = config.partition("[keystore]")
        config = head + sep + tail.replace('database = "sqlite"', f'database = "{named}"', 1)
    paths.config.write_text(config, encoding="utf-8")
    generate_server_secret(paths.server_secret)
    if database and database != "sqlite" and database != without_password(database):
        _write_secret(paths.secrets_dir / DATABASE_URL_FILE, database)
    if keystore_database and keystore_database != "sqlite" and \
            keystore_database != without_password(keystore_database):
        _write_secret(paths.secrets_dir / KEYSTORE_URL_FILE, keystore_database)
    main = store_target(root, {DATABASE_URL_ENV: database} if database else {})
    initialise_keystore_target(keystore_target(
        root, "sqlite", {KEYSTORE_URL_ENV: keystore_database} if keystore_database else {}, main))
    paths.recovery_pub.write_bytes(recovery.to_pub_file())
    shutil.copytree(default_pack_dir(), paths.rules_dir,
                    ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    target = store_target(root, {DATABASE_URL_ENV: database} if database else {})
    initialise_store(target)
    instance_id = "i" + secrets.token_hex(16)
    with sync_transaction(target) as conn:
        if conn.execute("SELECT 1 FROM meta WHERE key = 'instance_id'").fetchone():
            raise InstanceError(f"{target.describe()}: already holds an instance; refusing to "
                                f"share it (give each instance its own database)")
        conn.execute("INSERT INTO meta (key, value) VALUES ('instance_id', ?)", (instance_id,))
        conn.execute("INSERT INTO meta (key, value) VALUES ('recovery_fingerprint', ?)",
                     (recovery.fingerprint,))
        audit(conn, "cli", "instance.created")
    return instance_id


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def _connect(paths: InstancePaths) -> contextlib.AbstractContextManager[Any]:
    """One short write transaction on the instance's store (SQLite or PostgreSQL)."""
    return sync_transaction(store_target(paths.root))


@dataclass(frozen=True)
class AdvocateRecord:
    name: str
    fingerprint: str
    role: str
    phone: str | None
    email: str | None
    active: bool
    on_call: bool


def add_advocate(root: Path, public: PublicIdentity, *, name: str, role: Role,
                 phone: str | None = None, email: str | None = None) -> None:
    with _connect(InstancePaths(root)) as conn:
        if conn.execute("SELECT 1 FROM advocates WHERE fingerprint = ?",
                        (public.fingerprint,)).fetchone():
            raise Conflict(f"the key {public.fingerprint} is already registered")
        if conn.execute("SELECT 1 FROM advocates WHERE name = ? AND active = 1",
                        (name,)).fetchone():
            raise Conflict(f"an advocate named '{name}' already exists")
        conn.execute(
            "INSERT INTO advocates (name, fingerprint, box_public, sign_public, pub_file, role,"
            " phone, email, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (name, public.fingerprint, public.box_public, public.sign_public,
             public.to_pub_file(), role.value, phone, email, utc_now_text()))
        audit(conn, "cli", "advocate.added", detail=f"fingerprint={public.fingerprint} role={role.value}")


def remove_advocate(root: Path, name: str) -> str:
    """Deactivate: no new keys sealed to them, tokens die, off the on-call list."""
    with _connect(InstancePaths(root)) as conn:
        row = conn.execute("SELECT id, fingerprint FROM advocates WHERE name = ? AND active = 1",
                           (name,)).fetchone()
        if row is None:
            raise NotFound(f"no active advocate named '{name}'")
        conn.execute("UPDATE advocates SET active = 0, removed_at = ? WHERE id = ?",
                     (utc_now_text(), row[0]))
        conn.execute("DELETE FROM api_tokens WHERE advocate_id = ?", (row[0],))
        conn.execute("DELETE FROM oncall WHERE advocate_id = ?", (row[0],))
        audit(conn, "cli", "advocate.removed", detail=f"fingerprint={row[1]}")
        return str(row[1])


def list_advocates(root: Path, include_removed: bool = False) -> list[AdvocateRecord]:
    with _connect(InstancePaths(root)) as conn:
        rows = conn.execute(
            "SELECT name, fingerprint, role, phone, email, active,"
            " EXISTS(SELECT 1 FROM oncall o WHERE o.advocate_id = a.id) FROM advocates a"
            + ("" if include_removed else " WHERE active = 1") + " ORDER BY id").fetchall()
    return [AdvocateRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]), bool(r[6])) for r in rows]


def set_on_call(root: Path, names: list[str]) -> None:
    with _connect(InstancePaths(root)) as conn:
        ids = []
        for name in names:
            row = conn.execute("SELECT id FROM advocates WHERE name = ? AND active = 1",
                               (name,)).fetchone()
            if row is None:
                raise NotFound(f"no active advocate named '{name}'")
            ids.append(row[0])
        conn.execute("DELETE FROM oncall")
        conn.executemany("INSERT INTO oncall (position, advocate_id) VALUES (?, ?)",
                         list(enumerate(ids)))
        audit(conn, "cli", "oncall.set", detail=f"count={len(ids)}")
