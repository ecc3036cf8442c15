"""Build the store an instance names: SQLite's ``Database`` or PostgreSQL's ``PgDatabase``.

The one place that knows both implementations (``seam.py`` knows neither,
so they can both import it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import InstanceError
from .database import Database, initialise
from .seam import Store, StoreTarget, kind_of


def default_backup_dir(target: StoreTarget) -> Path | None:
    """Where pre-migration backups go unless told: ``backups/`` in the instance folder
    (SQLite's ``database.default_backup_dir`` gives the same folder for its file)."""
    return target.root / "backups" if target.root is not None else None


def open_store(target: StoreTarget, *, batch_max: int = 256, backup_dir: Path | None = None,
               observer: Callable[[float, int], None] | None = None,
               migrate: bool = True) -> Store:
    """The store for ``target``, not yet opened (``await store.open()``).

    ``migrate=False`` opens a database that is not the instance's main one (the
    key store's, with its own small schema): Hotline's migrations are not run.
    """
    if target.kind == "postgresql":
        from .postgres import PgDatabase  # psycopg loads only for PostgreSQL instances
        assert target.url is not None
        return PgDatabase(target.url, batch_max=batch_max,
                          backup_dir=backup_dir or default_backup_dir(target),
                          observer=observer, migrate=migrate)
    assert target.path is not None
    return Database(target.path, batch_max=batch_max, backup_dir=backup_dir, observer=observer,
                    migrate=migrate)


def initialise_store(target: StoreTarget, backup_dir: Path | None = None) -> list[str]:
    """Create or upgrade the schema (CLI and start-up); return the migrations applied."""
    if target.kind == "postgresql":
        from .postgres import initialise_pg  # psycopg loads only for PostgreSQL instances
        assert target.url is not None
        return initialise_pg(target.url, backup_dir or default_backup_dir(target))
    assert target.path is not None
    return initialise(target.path, backup_dir)


@contextlib.contextmanager
def sync_transaction(target: StoreTarget) -> Iterator[Any]:
    """One short write transaction for a CLI verb, on either store (schema brought up first).

    SQLite: ``BEGIN IMMEDIATE`` (the service's writer waits on the lock).
    PostgreSQL: an ordinary transaction beside the service's writers.
    """
    if not target.exists():
        raise InstanceError(f"{target.root}: not an instance (run 'hotline init' first)")
    initialise_store(target)
    conn = connect_sync(target)
    try:
        conn.execute(begin_statement(conn))
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


def begin_statement(conn: Any) -> str:
    """SQLite takes the write lock up front (``BEGIN IMMEDIATE``); PostgreSQL locks per row."""
    return "BEGIN" if kind_of(conn) == "postgresql" else "BEGIN IMMEDIATE"


def connect_sync(target: StoreTarget) -> Any:
    """A plain connection outside the service (CLI verbs), autocommit until BEGIN."""
    if target.kind == "postgresql":
        from .pg_conn import connect_or_explain  # psycopg loads only for PostgreSQL instances
        assert target.url is not None
        return connect_or_explain(target.url, "hotline-cli")
    from .connection import open_sqlite
    assert target.path is not None
    return open_sqlite(target.path)


