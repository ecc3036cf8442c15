"""The key store on SQLite: its own file ``secrets/keystore.db``, beside the epochs folder.

Its own group-commit writer and reader thread (the main database's ``Writer``
and ``Reader`` on another file), so a new tip's key is durable before any
envelope that needs it is. Front ends of one SQLite instance share a machine,
so rotations are serialised by an ``flock`` on ``secrets/epochs/.rotate.lock``,
which the kernel releases if the holder dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from ..store.connection import open_sqlite
from ..store.reader import Reader
from ..store.writer import Writer
from .backend import RotationBusy
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


class SqliteKeyDb:
    kind = "sqlite"

    def __init__(self, path: Path, lock_path: Path) -> None:
        self.path = path
        self._lock_path = lock_path
        self._writer = Writer(path, name="keystore")
        self._reader: Reader | None = None

    async def open(self) -> None:
        initialise_keystore(self.path)
        self._writer.start()
        self._reader = Reader(self.path, name="keystore-reader")
        self._reader.start()

    async def close(self) -> None:
        self._writer.close()
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def write(self, fn: Callable[[Any], T]) -> T:
        return await self._writer.run(fn)

    async def maintain(self, fn: Callable[[Any], T]) -> T:
        return await self._writer.run_bare(fn)

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        assert self._reader is not None, "key store not open"
        return await self._reader.fetchall(sql, params)

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Any | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def ping(self) -> bool:
        if self._reader is None or not self._writer.alive():
            return False
        try:
            await self._reader.fetchall("SELECT COUNT(*) FROM epochs")
            return True
        except Exception:
            return False

    @contextlib.asynccontextmanager
    async def rotation_lock(self, *, wait: bool) -> AsyncIterator[None]:
        """An exclusive lock file (released by the kernel if the holder dies)."""
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not wait:
                        raise RotationBusy("another rotation is running") from None
                    await asyncio.sleep(0.1)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock


