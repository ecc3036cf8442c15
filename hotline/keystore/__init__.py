"""Per-tip storage keys under rotating epoch keys (crypto-shredding, CRYPTO.md §13).

``store.KeyStore`` is what the service uses; ``backend.KeyDb`` the storage
interface (``sqlite_db`` implements it); ``epochs`` the key files outside every
database; ``rotation`` the re-wrap and destroy; ``schema`` the versions.
"""

from __future__ import annotations

from pathlib import Path

from .backend import KeyDb, RotationBusy, checkpoint_truncate
from .epochs import EpochFolder, EpochKeyMissing
from .rotation import RotationReport
from .sqlite_db import SqliteKeyDb, epochs_dir_for, initialise_keystore
from .store import KeyStore

__all__ = ["EpochFolder", "EpochKeyMissing", "KeyDb", "KeyStore", "RotationBusy",
           "RotationReport", "SqliteKeyDb", "checkpoint_truncate", "epochs_dir_for",
           "initialise_keystore", "open_sqlite_keystore"]


def open_sqlite_keystore(path: Path, *, rotate_every: float | None = None,
                         rotation_batch: int | None = None) -> KeyStore:
    """The key store of an SQLite instance (not opened yet): ``secrets/keystore.db``."""
    epochs = EpochFolder(epochs_dir_for(path))
    db = SqliteKeyDb(path, epochs.lock_path())
    if rotation_batch is None:
        return KeyStore(db, epochs, rotate_every=rotate_every)
    return KeyStore(db, epochs, rotate_every=rotate_every, rotation_batch=rotation_batch)
