"""Reading the key store without the service (recover, doctor, backups, tests).

Opens the key store where it lives (the SQLite file read-only, or its own
PostgreSQL database) and unwraps each row under its epoch's key file. Call
``initialise_keystore_target`` first where an older key store may need its
one-time upgrade.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crypto.epoch import unwrap_tip_key

from ..store.seam import StoreTarget
from .epochs import EpochFolder
from .sqlite_db import epochs_dir_for


class OfflineKeys:
    def __init__(self, conn: Any, epochs: EpochFolder) -> None:
        self._conn = conn
        self._epochs = epochs

    def get(self, tip_id: str) -> bytes | None:
        row = self._conn.execute("SELECT epoch_id, wrapped FROM tip_keys WHERE tip_id = ?",
                                 (tip_id,)).fetchone()
        if row is None:
            return None
        epoch_id = str(row[0])
        return unwrap_tip_key(self._epochs.key(epoch_id), bytes(row[1]), epoch_id=epoch_id,
                              tip_id=tip_id)

    def tip_ids(self) -> list[str]:
        return [str(r[0]) for r in self._conn.execute("SELECT tip_id FROM tip_keys").fetchall()]


@contextmanager
def keystore_connection(target: StoreTarget) -> Iterator[Any]:
    """A plain connection to the key store: read-only on SQLite."""
    if target.kind == "postgresql":
        from ..store.pg_conn import connect  # psycopg loads only for PostgreSQL key stores

        assert target.url is not None
        conn: Any = connect(target.url, application_name="hotline-keystore-tool")
    else:
        conn = sqlite3.connect(f"file:{target.path}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def _epochs_of(target: StoreTarget) -> EpochFolder:
    if target.kind == "sqlite":
        assert target.path is not None
        return EpochFolder(epochs_dir_for(target.path))
    assert target.root is not None
    return EpochFolder(target.root / "secrets" / "epochs")


@contextmanager
def offline_keys_at(target: StoreTarget) -> Iterator[OfflineKeys]:
    with keystore_connection(target) as conn:
        yield OfflineKeys(conn, _epochs_of(target))


@contextmanager
def offline_keys(keystore: Path) -> Iterator[OfflineKeys]:
    """The SQLite key store file ``keystore`` (``secrets/keystore.db``)."""
    with offline_keys_at(StoreTarget("sqlite", path=keystore, root=keystore.parent.parent)) as k:
        yield k


@dataclass(frozen=True)
class EpochRow:
    id: str
    created_at: str
    state: str
    keys: int


def epoch_rows(target: StoreTarget) -> list[EpochRow] | None:
    """Epochs not yet destroyed with their key counts; None for a store from before epochs."""
    with keystore_connection(target) as conn:
        try:
            rows = conn.execute(
                "SELECT e.id, e.created_at, e.state, (SELECT COUNT(*) FROM tip_keys k"
                " WHERE k.epoch_id = e.id) FROM epochs e WHERE e.state <> 'destroyed'").fetchall()
        except Exception as e:  # no epochs table: upgraded (wrapped) at the next start
            if "epochs" in str(e):
                return None
            raise
    return [EpochRow(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]


def held_tip_ids(target: StoreTarget) -> set[str]:
    with keystore_connection(target) as conn:
        return {str(r[0]) for r in conn.execute("SELECT tip_id FROM tip_keys").fetchall()}
