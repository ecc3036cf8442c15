"""Per-tip storage keys under rotating epoch keys (crypto-shredding, CRYPTO.md §13).

``store.KeyStore`` is what the service uses; ``backend.KeyDb`` the storage
interface (``sqlite_db`` implements it); ``epochs`` the key files outside every
database; ``rotation`` the re-wrap and destroy; ``schema`` the versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..store.seam import StoreTarget
from .backend import KeyDb, RotationBusy, checkpoint_truncate
from .engine import SeamKeyDb, initialise_keystore_target, keystore_target
from .epochs import EpochFolder, EpochKeyMissing
from .rotation import DEFAULT_BATCH, RotationReport
from .sqlite_db import epochs_dir_for, initialise_keystore
from .store import KeyStore

__all__ = ["EpochFolder", "EpochKeyMissing", "KeyDb", "KeyStore", "RotationBusy",
           "RotationReport", "SeamKeyDb", "checkpoint_truncate", "epochs_dir_for",
           "initialise_keystore", "initialise_keystore_target", "keystore_target",
           "open_keystore", "open_sqlite_keystore"]


def _keystore_at(target: StoreTarget, epochs: EpochFolder, rotate_every: float | None,
                 rotation_batch: int | None) -> KeyStore:
    return KeyStore(SeamKeyDb(target, epochs), epochs, rotate_every=rotate_every,
                    rotation_batch=rotation_batch or DEFAULT_BATCH)


def open_sqlite_keystore(path: Path, *, rotate_every: float | None = None,
                         rotation_batch: int | None = None) -> KeyStore:
    """A key store in an SQLite file (not opened yet), its epochs folder beside it."""
    target = StoreTarget("sqlite", path=path, root=path.parent.parent)
    return _keystore_at(target, EpochFolder(epochs_dir_for(path)), rotate_every, rotation_batch)


def open_keystore(root: Path, values: Mapping[str, Any], env: Mapping[str, str] | None = None,
                  *, main: StoreTarget | None = None, background: bool = False) -> KeyStore:
    """The instance's key store (not opened yet), on SQLite or its own PostgreSQL database.

    ``values``: the instance's settings; ``background``: rotate when due (a front end).
    """
    target = keystore_target(root, values["keystore.database"], env, main)
    return _keystore_at(target, EpochFolder(root / "secrets" / "epochs"),
                        values["keystore.epoch_rotation"] if background else None,
                        values["keystore.rotation_batch"])
