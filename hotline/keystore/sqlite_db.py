"""The key store's SQLite file ``secrets/keystore.db``: creation, upgrade and its lock.

The rows are read and written through the store seam (``engine.py``); this
module makes the file (0600 from the first byte), brings its schema up under
the rotation lock (an ``flock`` on ``secrets/epochs/.rotate.lock``, which the
kernel releases if the holder dies) and offers that lock to one-shot tools.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from ..store.connection import open_sqlite
from .epochs import EpochFolder
from .schema import LATEST, Prepared, prepare, schema_version

T = TypeVar("T")


def epochs_dir_for(keystore: Path) -> Path:
    """``secrets/epochs`` beside ``secrets/keystore.db``."""
    return keystore.parent / "epochs"


@contextlib.contextmanager
def held_lock(path: Path) -> Iterator[None]:
    """The rotation lock, waited for (one-shot tools and start-up)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def initialise_keystore(path: Path) -> Prepared:
    """Create the key store and its first epoch, or upgrade an older one (under the lock)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    epochs = EpochFolder(epochs_dir_for(path))
    epochs.ensure_folder()
    if not path.exists():  # owner-only from the first byte
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    conn = open_sqlite(path)
    try:
        if schema_version(conn, "sqlite") == LATEST:
            return Prepared(LATEST, 0)  # the usual case: no lock (a rotation may hold it)
        with held_lock(epochs.lock_path()):
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return prepare(conn, "sqlite", epochs, now, str(path))
    finally:
        conn.close()
