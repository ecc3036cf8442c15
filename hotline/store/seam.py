"""The store seam: the one interface channels, intake, paging and ops talk to.

Two implementations stand behind it: ``database.Database`` (SQLite, the
embedded default: one file in the instance folder) and
``postgres.PgDatabase`` (PostgreSQL, for several front ends on one
database). Both run write callables ``fn(conn) -> T`` on one writer thread,
each in its own SAVEPOINT of one group-commit transaction, and answer a
caller only after COMMIT returned. ``conn`` is a sqlite3 connection or a
psycopg adapter that takes the same ``?`` placeholders and gives rows that
index by position and by name; SQL written for both is "portable SQL"
(docs/architecture.md).

The factory that builds either (``open_store``, ``initialise_store``,
``sync_transaction`` for CLI verbs) is ``store/factory.py``: this module
imports neither implementation, so both may import it.

Which store an instance uses is named by ``store.database`` in its config
(``"sqlite"`` or a ``postgresql://`` URL without its password). The password
never sits in the config: the whole URL comes from ``HOTLINE_DATABASE_URL``
or from ``secrets/database-url`` (0600, written by ``hotline init
--database``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError

T = TypeVar("T")
StoreKind = Literal["sqlite", "postgresql"]
DB_FILENAME = "hotline.db"
DATABASE_URL_ENV = "HOTLINE_DATABASE_URL"
DATABASE_URL_FILE = "database-url"  # in secrets/


class WriterHandle(Protocol):
    """What ops reads of the writer: liveness, queue depth, a commit observer."""

    observer: Callable[[float, int], None] | None

    def alive(self) -> bool: ...
    def queue_depth(self) -> int: ...


class Store(Protocol):
    """What every user of the database sees, whichever engine is behind it."""

    kind: StoreKind
    writer: WriterHandle

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def write(self, fn: Callable[[Any], T]) -> T: ...
    async def maintain(self, fn: Callable[[Any], T]) -> T: ...
    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]: ...
    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any | None: ...
    async def ping(self) -> bool: ...


@dataclass(frozen=True)
class StoreTarget:
    """Which database an instance uses: a SQLite file or a PostgreSQL URL (with password)."""

    kind: StoreKind
    path: Path | None = None
    url: str | None = None
    root: Path | None = None

    def describe(self) -> str:
        """For messages and logs: the file, or the URL without its password."""
        return str(self.path) if self.kind == "sqlite" else redact(self.url or "")

    def exists(self) -> bool:
        """SQLite: the file is there. PostgreSQL: always (the server says the rest)."""
        return self.kind == "postgresql" or (self.path is not None and self.path.exists())


def is_postgres_url(value: str) -> bool:
    return value.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def database_setting(value: Any) -> str:
    """Config parser of ``store.database``: ``sqlite`` or a postgresql:// URL, no password."""
    text = str(value).strip()
    if text == "sqlite" or is_postgres_url(text):
        return text
    raise ValueError("must be \"sqlite\" or a postgresql://user@host:port/database URL")


def store_target(root: Path, env: Mapping[str, str] | None = None) -> StoreTarget:
    """The instance's store, from ``HOTLINE_DATABASE_URL`` or its config and secrets."""
    env = os.environ if env is None else env
    value = env.get(DATABASE_URL_ENV, "").strip() or _configured(root)
    if value == "sqlite":
        return StoreTarget("sqlite", path=root / DB_FILENAME, root=root)
    if not is_postgres_url(value):
        raise ConfigError(f"{DATABASE_URL_ENV} / store.database: {database_setting_error(value)}")
    secret = root / "secrets" / DATABASE_URL_FILE
    if urlsplit(value).password is None and secret.exists():
        full = secret.read_text(encoding="utf-8").strip()
        if not is_postgres_url(full) or without_password(full) != without_password(value):
            raise ConfigError(f"{secret}: does not hold the URL of the database the config "
                              f"names ({redact(value)})")
        value = full
    return StoreTarget("postgresql", url=value, root=root)


def database_setting_error(value: str) -> str:
    try:
        database_setting(value)
    except ValueError as e:
        return str(e)
    return "invalid"


def _configured(root: Path) -> str:
    """``[store] database`` from the instance's config (``sqlite`` when absent)."""
    try:
        data = tomllib.loads((root / "hotline.toml").read_text(encoding="utf-8"))
    except (FileNotFoundError, tomllib.TOMLDecodeError):
        return "sqlite"  # load_config reports these with file and line
    store = data.get("store")
    value = store.get("database", "sqlite") if isinstance(store, dict) else "sqlite"
    return str(value).strip()


def kind_of(conn: Any) -> StoreKind:
    """Which engine a write callable's ``conn`` belongs to."""
    return "postgresql" if getattr(conn, "kind", None) == "postgresql" else "sqlite"


def is_unique_violation(e: BaseException, table: str, column: str) -> bool:
    """``e`` is a UNIQUE violation of ``table.column`` on either engine."""
    if isinstance(e, sqlite3.IntegrityError):
        return f"{table}.{column}" in str(e)
    diag = getattr(e, "diag", None)
    return (getattr(e, "sqlstate", None) == "23505" and diag is not None
            and diag.constraint_name == f"{table}_{column}_key")


def is_integrity_error(e: BaseException) -> bool:
    """A constraint refused the statement (UNIQUE, FOREIGN KEY, CHECK, NOT NULL)."""
    if isinstance(e, sqlite3.IntegrityError):
        return True
    return str(getattr(e, "sqlstate", "") or "").startswith("23")


@contextlib.contextmanager
def statement_savepoint(conn: Any, name: str = "stmt") -> Iterator[None]:
    """Let one statement fail without spoiling the transaction around it.

    SQLite goes on after a failed statement; PostgreSQL aborts the whole
    transaction unless the statement ran inside a savepoint. Code that
    catches a constraint error and carries on wraps the statement in this.

    On SQLite it is nothing at all: a statement refused by a constraint is
    undone alone by SQLite itself (the schema uses the default ABORT
    resolution everywhere), so a savepoint would only add two statements, two
    GIL hand-offs on the writer, per new tip. Wrap one statement only.
    """
    if kind_of(conn) != "postgresql":
        yield
        return
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
        conn.settle()  # pipeline mode (pg_conn.py): the statement's error is raised here
    except BaseException:
        conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
        conn.execute(f"RELEASE SAVEPOINT {name}")
        raise
    conn.execute(f"RELEASE SAVEPOINT {name}")
