"""The key store's rows on the instance's engine: the store seam, opened without migrations.

SQLite (the default): its own file ``secrets/keystore.db``. PostgreSQL: a
database of its own, with its own role and URL (``keystore.database`` names it
without its password; the whole URL comes from ``HOTLINE_KEYSTORE_URL`` or
``secrets/keystore-url``, 0600), so whoever administers or backs up the main
database holds no tip key, not even wrapped. Either way the seam's writer and
reader carry the rows (``open_store(..., migrate=False)``: the key store has
its own schema, ``schema.py``, never the main database's migrations), and
rotations are serialised across front ends by ``rotation_lock``: an ``flock``
on SQLite (front ends of an SQLite instance share a machine), a session-level
advisory lock on PostgreSQL (released by the server if its holder dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..store.factory import open_store
from ..store.seam import StoreTarget, is_postgres_url, redact, without_password
from .backend import RotationBusy
from .epochs import EpochFolder
from .schema import LATEST, Prepared, prepare, schema_version

T = TypeVar("T")
KEYSTORE_URL_ENV = "HOTLINE_KEYSTORE_URL"
KEYSTORE_URL_FILE = "keystore-url"  # in secrets/
ROTATION_LOCK = 0x484C4B53  # "HLKS": the key store's rotation and schema lock (PostgreSQL)


def keystore_target(root: Path, configured: str, env: Mapping[str, str] | None = None,
                    main: StoreTarget | None = None) -> StoreTarget:
    """Where an instance's key store lives: ``HOTLINE_KEYSTORE_URL``, else ``keystore.database``.

    Refuses the main database's own URL: the point is that they are apart.
    """
    env = os.environ if env is None else env
    value = env.get(KEYSTORE_URL_ENV, "").strip() or configured
    if value == "sqlite":
        return StoreTarget("sqlite", path=root / "secrets" / "keystore.db", root=root)
    if not is_postgres_url(value):
        raise ConfigError(f"{KEYSTORE_URL_ENV} / keystore.database: must be \"sqlite\" or a "
                          "postgresql://user@host:port/database URL")
    secret = root / "secrets" / KEYSTORE_URL_FILE
    if urlsplit(value).password is None and secret.exists():
        full = secret.read_text(encoding="utf-8").strip()
        if not is_postgres_url(full) or without_password(full) != without_password(value):
            raise ConfigError(f"{secret}: does not hold the URL of the key store the config "
                              f"names ({redact(value)})")
        value = full
    if main is not None and main.kind == "postgresql" and main.url is not None and \
            _same_database(main.url, value):
        raise ConfigError(f"keystore.database: {redact(value)} is the main database; the key "
                          "store needs a database of its own (and a role of its own)")
    return StoreTarget("postgresql", url=value, root=root)


def _same_database(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return ((pa.hostname, pa.port or 5432, pa.path.strip("/"))
            == (pb.hostname, pb.port or 5432, pb.path.strip("/")))


def initialise_keystore_target(target: StoreTarget) -> Prepared:
    """Create or upgrade the key store wherever it lives (init, start-up, one-shot tools)."""
    if target.kind == "postgresql":
        assert target.url is not None and target.root is not None
        return initialise_pg_keystore(target.url, EpochFolder(target.root / "secrets" / "epochs"),
                                      target.describe())
    from .sqlite_db import initialise_keystore
    assert target.path is not None
    return initialise_keystore(target.path)


def initialise_pg_keystore(url: str, epochs: EpochFolder, where: str) -> Prepared:
    """Create the key store's schema and first epoch once, whichever front end starts first."""
    from ..store.pg_conn import connect  # psycopg loads only for PostgreSQL key stores

    conn = connect(url, application_name="hotline-keystore-init")
    try:
        epochs.ensure_folder()
        if schema_version(conn, "postgresql") == LATEST:
            return Prepared(LATEST, 0)
        conn.execute("SELECT pg_advisory_lock(?)", (ROTATION_LOCK,))
        try:
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return prepare(conn, "postgresql", epochs, now, where)
        finally:
            if not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(?)", (ROTATION_LOCK,))
    finally:
        conn.close()


class SeamKeyDb:
    """``KeyDb`` on the store seam, for either engine."""

    def __init__(self, target: StoreTarget, epochs: EpochFolder) -> None:
        self.kind = target.kind
        self.target = target
        self._epochs = epochs
        self._store = open_store(target, migrate=False)

    async def open(self) -> None:
        if self.kind == "postgresql":
            await asyncio.to_thread(initialise_keystore_target, self.target)
        else:
            initialise_keystore_target(self.target)
        await self._store.open()

    async def close(self) -> None:
        await self._store.close()

    async def write(self, fn: Callable[[Any], T]) -> T:
        return await self._store.write(fn)

    async def maintain(self, fn: Callable[[Any], T]) -> T:
        return await self._store.maintain(fn)

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return await self._store.fetchall(sql, params)

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> Any | None:
        return await self._store.fetchone(sql, params)

    async def ping(self) -> bool:
        return self._store.writer.alive() and await self._store.ping()

    def rotation_lock(self, *, wait: bool) -> contextlib.AbstractAsyncContextManager[None]:
        if self.kind == "postgresql":
            return self._advisory_lock(wait)
        return self._file_lock(wait)

    @contextlib.asynccontextmanager
    async def _file_lock(self, wait: bool) -> AsyncIterator[None]:
        fd = os.open(self._epochs.lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
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

    @contextlib.asynccontextmanager
    async def _advisory_lock(self, wait: bool) -> AsyncIterator[None]:
        from ..store.pg_conn import connect

        assert self.target.url is not None
        conn = await asyncio.to_thread(connect, self.target.url,
                                       application_name="hotline-keystore-rotation")
        try:
            while True:
                row = await asyncio.to_thread(lambda: conn.execute(
                    "SELECT pg_try_advisory_lock(?)", (ROTATION_LOCK,)).fetchone())
                if row[0]:
                    break
                if not wait:
                    raise RotationBusy("another rotation is running")
                await asyncio.sleep(0.2)
            yield
        finally:
            await asyncio.to_thread(conn.close)  # the session's advisory lock goes with it
