"""Claiming due work with a lease, so several front ends on one database take each row once.

A claim is one statement, run as one writer job::

    UPDATE t SET lease_owner = ?, lease_until = ?
     WHERE id IN (SELECT id FROM t WHERE <due> AND (lease_until IS NULL OR lease_until <= now)
                  ORDER BY ... LIMIT n [FOR UPDATE SKIP LOCKED])
    RETURNING ...

On SQLite the writer's ``BEGIN IMMEDIATE`` already serialises every writer of
the file, other processes included, so a claim always sees the claims that
committed before it. On PostgreSQL two front ends claim at the same moment:
``FOR UPDATE SKIP LOCKED`` makes the second pass over the rows the first has
locked instead of waiting for them (and a row that changed under it is
checked again against the ``WHERE``), so no row is handed to both.

The work itself happens after the claim commits. Its outcome is written only
``WHERE lease_owner = <me>``: a front end that was too slow and lost its
claim to another never overwrites the new holder's result.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Connection(Protocol):
    """What a writer job gets: sqlite3's connection or the PostgreSQL adapter (``?`` params)."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...


def dialect(db: object) -> str:
    """"sqlite" or "postgresql": the store's ``kind`` (the store seam), SQLite before it."""
    kind = getattr(db, "kind", "sqlite")
    return kind if kind in ("sqlite", "postgresql") else "sqlite"


UNLEASED = "(lease_until IS NULL OR lease_until <= ?)"
"""The claimable condition; its one parameter is the time now."""


def claim(conn: Connection, kind: str, *, table: str, due: str, params: Sequence[Any],
          order: str, returning: str, owner: str, now: float, lease: float,
          limit: int) -> list[dict[str, Any]]:
    """Lease up to ``limit`` due, unleased rows of ``table`` to ``owner``; return them.

    ``table``, ``due``, ``order`` and ``returning`` are SQL fragments written in
    our own code, never values (hence ``noqa: S608``); ``params`` fill ``due``.
    ``returning`` is plain column names, which name the returned dicts' keys
    (the PostgreSQL adapter's cursor has no ``description``).
    """
    if limit <= 0:
        return []
    lock = " FOR UPDATE SKIP LOCKED" if kind == "postgresql" else ""
    cur = conn.execute(
        f"UPDATE {table} SET lease_owner = ?, lease_until = ? WHERE id IN"  # noqa: S608
        f" (SELECT id FROM {table} WHERE {due} AND {UNLEASED} ORDER BY {order} LIMIT ?{lock})"
        f" RETURNING {returning}",
        (owner, now + lease, *params, now, limit))
    names = [c.strip() for c in returning.split(",")]  # plain column names, in order
    return [dict(zip(names, tuple(row), strict=True)) for row in cur.fetchall()]


PAGING = 0x686F746C696E6501
"""The advisory lock key of paging's bookkeeping (escalation steps, coalescing)."""


def try_exclusive(conn: Connection, kind: str, key: int) -> bool:
    """Whether this transaction may do work that one front end at a time should do.

    SQLite: always (its writers are serialised already). PostgreSQL: a
    transaction-level advisory lock, *tried*, never waited for: a front end
    that finds it taken skips the work this turn, because another one is doing
    it, and cannot deadlock against that one inside a group commit.
    """
    if kind != "postgresql":
        return True
    (got,) = conn.execute(f"SELECT pg_try_advisory_xact_lock({int(key)})").fetchone()
    return bool(got)


async def holding(work: Awaitable[T], renew: Callable[[], Awaitable[object]], every: float) -> T:
    """Await ``work`` (a send), calling ``renew`` (which extends the lease) every ``every``
    seconds while it runs: a live front end keeps its claim however long a notifier takes
    (each has its own timeout), and only a dead one's claim runs out. ``work`` is
    cancelled if this is."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=every)
            if done:
                return task.result()
            with contextlib.suppress(Exception):  # the database is down: the send goes on
                await renew()
    finally:
        if not task.done():
            task.cancel()
