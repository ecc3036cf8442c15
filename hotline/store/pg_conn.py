"""A psycopg 3 connection that reads like the sqlite3 one the store code is written for.

Store callables are ``fn(conn)`` with SQLite-style ``?`` placeholders and rows
read by position or by column name. This adapter lets the same callables run
on PostgreSQL: each SQL string is translated once (``?`` → ``%s``, a literal
``%`` → ``%%``, quoted literals, quoted names and comments left alone) and
cached; rows are :class:`PgRow`, a tuple that also answers ``row["name"]``
and ``keys()`` like ``sqlite3.Row``. Booleans are sent as 0/1 (our boolean
columns are INTEGER on both stores).

Only what the store code uses is offered: ``execute``, ``executemany``,
cursors with ``fetchone``/``fetchall``/``rowcount``/iteration, and
``in_transaction``. ``lastrowid`` does not exist here on purpose: portable
code asks for ``RETURNING id``.

**Pipeline mode** (``pipelined()``, used by the writer around a batch's
jobs): each statement is sent without waiting for its answer; the answers are
waited for only when the code needs one (a row, a row count) or the writer
settles a job (``settle()``), so the statements a job never reads back
(SAVEPOINT, RELEASE, most INSERTs and UPDATEs) share round trips instead of
paying one each. A statement's error is raised at the next settle point: the
writer settles at the end of every job and ``statement_savepoint`` at the end
of its statement, so an error still belongs to the job (and the savepoint)
that caused it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any, ClassVar

import psycopg
from psycopg import pq

from ..errors import InstanceError
from .seam import redact

KIND = "postgresql"


class PgRow(tuple):  # type: ignore[type-arg]
    """A result row: a tuple that also indexes by column name, like ``sqlite3.Row``."""

    __slots__ = ()
    _names: ClassVar[dict[str, int]] = {}  # replaced per result set by a subclass
    _columns: ClassVar[tuple[str, ...]] = ()

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names[key])
            except KeyError:
                raise IndexError(f"No item with that key: {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._columns)


@lru_cache(maxsize=256)
def _row_class(columns: tuple[str, ...]) -> type[PgRow]:
    names: dict[str, int] = {}
    for i, name in enumerate(columns):
        names.setdefault(name, i)  # like sqlite3.Row: the first column of a name wins
    return type("PgRow", (PgRow,), {"__slots__": (), "_names": names, "_columns": columns})


def pg_row_factory(cursor: Any) -> Any:
    """psycopg row factory making :class:`PgRow` rows."""
    desc = cursor.description
    if desc is None:
        return tuple
    cls = _row_class(tuple(d.name for d in desc))

    def make(values: Sequence[Any]) -> PgRow:
        return cls(values)
    return make


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """SQLite-style ``?`` placeholders → psycopg's ``%s``; a literal ``%`` doubled.

    Quoted literals ('…'), quoted names ("…") and comments keep their ``?``;
    a ``%`` is doubled everywhere, since psycopg reads ``%`` inside literals
    too when parameters are given (we always give them).
    """
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # '' or "" inside: an escaped quote
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i:end + 1].replace("%", "%%"))
            i = end + 1
            continue
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
            continue
        if ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end].replace("%", "%%"))
            i = end
            continue
        if ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _params(params: Iterable[Any] | None) -> tuple[Any, ...]:
    if params is None:
        return ()
    return tuple(int(p) if isinstance(p, bool) else p for p in params)


class PgCursor:
    """What ``conn.execute`` returns: the rows and the row count of one statement."""

    def __init__(self, cur: psycopg.Cursor[Any], conn: PgConnection | None = None) -> None:
        self._cur = cur
        self._conn = conn  # set while the statement was sent in pipeline mode
        self._pipeline = conn._pipeline if conn is not None else None

    def _answered(self) -> None:
        """In pipeline mode, wait for the answers (this statement's among them) first.

        Only on the writer's thread, inside the batch that sent it: a pipeline ends
        (and every answer is in) before COMMIT, long before a caller sees a cursor."""
        if self._conn is not None and self._pipeline is self._conn._pipeline:
            self._conn.settle()

    @property
    def rowcount(self) -> int:
        self._answered()
        return self._cur.rowcount

    def fetchone(self) -> Any:
        self._answered()
        if self._cur.description is None:
            return None
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        self._answered()
        if self._cur.description is None:
            return []
        return self._cur.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    def close(self) -> None:
        self._cur.close()


class PgConnection:
    """The sqlite3-shaped face of one psycopg connection (one thread uses it)."""

    kind = KIND

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self.row_factory: object = None  # accepted and ignored: rows are always PgRow
        self._pipeline: psycopg.Pipeline | None = None
        self._unsettled = False  # statements sent in the pipeline whose answers are not in

    def execute(self, sql: str, params: Iterable[Any] | None = ()) -> PgCursor:
        cur = self.raw.cursor()
        cur.execute(translate(sql), _params(params))  # type: ignore[arg-type]
        if self._pipeline is None:
            return PgCursor(cur)
        self._unsettled = True
        return PgCursor(cur, self)

    def executemany(self, sql: str, seq: Iterable[Iterable[Any]]) -> PgCursor:
        cur = self.raw.cursor()
        cur.executemany(translate(sql), [_params(p) for p in seq])  # type: ignore[arg-type]
        if self._pipeline is None:
            return PgCursor(cur)
        self._unsettled = True
        return PgCursor(cur, self)

    @contextlib.contextmanager
    def pipelined(self) -> Iterator[None]:
        """Send statements without waiting for each answer (the module's docstring).

        Leaving it waits for every answer, so nothing is in flight at COMMIT."""
        with self.raw.pipeline() as pipeline:
            self._pipeline, self._unsettled = pipeline, False
            try:
                yield
            finally:
                self._pipeline, self._unsettled = None, False

    def settle(self) -> None:
        """Wait for the answers to everything sent so far; raise the first error among them.

        Nothing to wait for outside pipeline mode (each statement was answered as sent)."""
        if self._pipeline is not None and self._unsettled:
            self._unsettled = False
            self._pipeline.sync()

    def cursor(self) -> PgConnection:
        """``conn.cursor().execute(...)`` works as on sqlite3."""
        return self

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    @property
    def broken(self) -> bool:
        return self.raw.closed or self.raw.broken

    def close(self) -> None:
        self.raw.close()


def connect_or_explain(url: str, application_name: str, **kw: Any) -> PgConnection:
    """``connect`` for start-up and CLI verbs: a database that cannot be reached is an
    ``InstanceError`` naming it (password hidden) and libpq's reason, not a traceback."""
    try:
        return connect(url, application_name=application_name, **kw)
    except psycopg.OperationalError as e:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[-1]
        raise InstanceError(f"{redact(url)}: cannot connect to PostgreSQL ({reason})") from None


def connect(url: str, *, application_name: str = "hotline", connect_timeout: int = 5,
            statement_timeout_s: int = 60) -> PgConnection:
    """An autocommit psycopg connection (the store issues BEGIN/COMMIT itself).

    A service statement stuck behind a lock for minutes is worse than a clear
    failure (``statement_timeout``); migrations pass 0 (no limit): an index build on
    a large table, or waiting for another front end's migration, may take longer.
    """
    raw = psycopg.connect(url, autocommit=True, row_factory=pg_row_factory,
                          application_name=application_name, connect_timeout=connect_timeout)
    raw.execute(f"SET statement_timeout = '{int(statement_timeout_s)}s'")
    raw.execute("SET idle_in_transaction_session_timeout = '5min'")
    return PgConnection(raw)
