"""Creating an instance folder and managing who is in it (admin side, no server).

These functions write straight to the instance's database; they are safe
while the service runs (SQLite locks; the service re-reads advocates and the
on-call list for every message and request).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from crypto import PublicIdentity
from triage_rules import default_pack_dir

from .config import render_default_config
from .domain import Role
from .errors import Conflict, InstanceError, NotFound
from .instance import InstancePaths
from .keystore import initialise_keystore
from .server_secret import generate_server_secret
from .store import initialise
from .store.connection import open_sqlite
from .store.queries import audit, utc_now_text


def create_instance(root: Path, recovery: PublicIdentity, *, public_url: str | None = None) -> str:
    """Make a new instance folder; return its instance id. Refuses to overwrite."""
    paths = InstancePaths(root)
    if paths.config.exists() or paths.database.exists():
        raise InstanceError(f"{root}: already an instance; refusing to overwrite it")
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    config = render_default_config()
    if public_url:
        config = config.replace('public_url = "http://127.0.0.1:8080"', f'public_url = "{public_url}"')
    paths.config.write_text(config, encoding="utf-8")
    generate_server_secret(paths.server_secret)
    initialise_keystore(paths.keystore)
    paths.recovery_pub.write_bytes(recovery.to_pub_file())
    shutil.copytree(default_pack_dir(), paths.rules_dir,
                    ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    initialise(paths.database)
    instance_id = "i" + secrets.token_hex(16)
    with _connect(paths) as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('instance_id', ?)", (instance_id,))
        conn.execute("INSERT INTO meta (key, value) VALUES ('recovery_fingerprint', ?)",
                     (recovery.fingerprint,))
        audit(conn, "cli", "instance.created")
    return instance_id


class _Tx:
    def __init__(self, paths: InstancePaths) -> None:
        if not paths.database.exists():
            raise InstanceError(f"{paths.root}: not an instance (run 'hotline init' first)")
        initialise(paths.database)
        self.conn = open_sqlite(paths.database)

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        self.conn.close()


def _connect(paths: InstancePaths) -> _Tx:
    return _Tx(paths)


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
