"""The key store's own schema, versioned in its own ``ks_meta`` table.

Version 1 (before epochs): ``tip_keys(tip_id, key)`` with every tip key in
clear. Version 2: ``epochs`` and ``tip_keys(tip_id, epoch_id, wrapped)``; no
tip key is ever stored in clear. ``prepare`` creates version 2, or moves a
version-1 store once (wrapping every key under a first epoch key, in one
transaction, then VACUUM and a TRUNCATE checkpoint so the clear keys leave
the file and its WAL; ``secure_delete`` zeroes the freed pages), and refuses
a store newer than this release.

The key store is its own database, so its versions are its own: they never
share numbers with the main database's migrations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crypto.epoch import new_epoch_id, new_epoch_key, wrap_tip_key

from ..errors import InstanceError
from ..logging import get_logger
from .backend import checkpoint_truncate
from .epochs import EpochFolder

LATEST = 2

_TABLES = {
    "sqlite": (
        "CREATE TABLE ks_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID",
        "CREATE TABLE epochs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL,"
        " state TEXT NOT NULL CHECK (state IN ('current', 'retiring', 'destroyed')),"
        " destroyed_at TEXT) STRICT, WITHOUT ROWID",
        "CREATE TABLE tip_keys (tip_id TEXT PRIMARY KEY,"
        " epoch_id TEXT NOT NULL REFERENCES epochs (id), wrapped BLOB NOT NULL)"
        " STRICT, WITHOUT ROWID",
    ),
    "postgresql": (
        "CREATE TABLE ks_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE epochs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL,"
        " state TEXT NOT NULL CHECK (state IN ('current', 'retiring', 'destroyed')),"
        " destroyed_at TEXT)",
        "CREATE TABLE tip_keys (tip_id TEXT PRIMARY KEY,"
        " epoch_id TEXT NOT NULL REFERENCES epochs (id), wrapped BYTEA NOT NULL)",
    ),
}
_INDEXES = (
    # At most one current epoch, whatever two front ends try at once.
    "CREATE UNIQUE INDEX epochs_one_current ON epochs (state) WHERE state = 'current'",
    "CREATE INDEX tip_keys_by_epoch ON tip_keys (epoch_id)",
)


@dataclass(frozen=True)
class Prepared:
    version_before: int
    wrapped: int  # clear keys wrapped by an upgrade from version 1


def _begin(kind: str) -> str:
    return "BEGIN IMMEDIATE" if kind == "sqlite" else "BEGIN"


def _tables(conn: Any, kind: str) -> set[str]:
    if kind == "sqlite":
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    else:
        rows = conn.execute("SELECT table_name FROM information_schema.tables"
                            " WHERE table_schema = current_schema()").fetchall()
    return {str(r[0]) for r in rows}


def schema_version(conn: Any, kind: str) -> int:
    tables = _tables(conn, kind)
    if "ks_meta" in tables:
        row = conn.execute("SELECT value FROM ks_meta WHERE name = 'schema_version'").fetchone()
        return int(row[0]) if row is not None else 0
    return 1 if "tip_keys" in tables else 0


def prepare(conn: Any, kind: str, epochs: EpochFolder, now: str, where: str) -> Prepared:
    """Bring the key store to ``LATEST`` (outside any transaction; under the rotation lock)."""
    before = schema_version(conn, kind)
    if before > LATEST:
        raise InstanceError(f"{where}: key store schema version {before} is newer than this "
                            f"Hotline ({LATEST}): a downgrade; install the newer release")
    if before == LATEST:
        return Prepared(before, 0)
    epoch_id, epoch_key = new_epoch_id(), new_epoch_key()
    epochs.write(epoch_id, epoch_key)  # durable before any row names it
    wrapped = 0
    conn.execute(_begin(kind))
    try:
        if before == 1:
            conn.execute("ALTER TABLE tip_keys RENAME TO tip_keys_v1")
        for sql in (*_TABLES[kind], *_INDEXES):
            conn.execute(sql)
        conn.execute("INSERT INTO epochs (id, created_at, state) VALUES (?, ?, 'current')",
                     (epoch_id, now))
        if before == 1:
            rows = conn.execute("SELECT tip_id, key FROM tip_keys_v1").fetchall()
            conn.executemany(
                "INSERT INTO tip_keys (tip_id, epoch_id, wrapped) VALUES (?, ?, ?)",
                [(str(t), epoch_id, wrap_tip_key(epoch_key, bytes(k), epoch_id=epoch_id,
                                                 tip_id=str(t))) for t, k in rows])
            wrapped = len(rows)
            conn.execute("DROP TABLE tip_keys_v1")
        conn.execute("INSERT INTO ks_meta (name, value) VALUES ('schema_version', ?)",
                     (str(LATEST),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        epochs.destroy(epoch_id)  # no row names it
        raise
    if before == 1 and kind == "sqlite":
        conn.execute("VACUUM")  # the clear keys leave the file, not just the table
        checkpoint_truncate(conn)
        get_logger("hotline.keystore").info("keystore.upgraded", wrapped=wrapped,
                                            epoch=epoch_id)
    return Prepared(before, wrapped)
