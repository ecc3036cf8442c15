"""Reading tip keys from the SQLite key store without the service (recover, tools, tests).

Opens the key store read-only and unwraps each row under its epoch's key file.
Call ``initialise_keystore`` first where an older key store may need its
one-time upgrade.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crypto.epoch import unwrap_tip_key

from .epochs import EpochFolder
from .sqlite_db import epochs_dir_for


class OfflineKeys:
    def __init__(self, conn: sqlite3.Connection, epochs: EpochFolder) -> None:
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
        return [str(r[0]) for r in self._conn.execute("SELECT tip_id FROM tip_keys")]


@contextmanager
def offline_keys(keystore: Path) -> Iterator[OfflineKeys]:
    conn = sqlite3.connect(f"file:{keystore}?mode=ro", uri=True)
    try:
        yield OfflineKeys(conn, EpochFolder(epochs_dir_for(keystore)))
    finally:
        conn.close()
