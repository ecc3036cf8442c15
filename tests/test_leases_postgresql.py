"""Lease claims on a real PostgreSQL: two front ends claiming at the same moment get
disjoint rows, without waiting for each other (``FOR UPDATE SKIP LOCKED``).

The claim helper (``hotline.store.leases``) runs here on plain psycopg
connections in open transactions, as two front ends' writer threads would
hold them mid-commit. psycopg takes ``%s`` placeholders where the store's SQL
writes ``?``; ``Qmark`` below translates, as the store seam's PostgreSQL
connection adapter does. The table has the columns a claim touches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pytest

from hotline.store.leases import PAGING, claim, try_exclusive

NOW, LEASE = 1_800_000_000.0, 60.0


class Qmark:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), tuple(params))  # type: ignore[arg-type]


@pytest.fixture
def conns(pg_url: str) -> Iterator[list[psycopg.Connection[Any]]]:
    with psycopg.connect(pg_url, autocommit=True) as setup:
        setup.execute("CREATE TABLE work (id BIGSERIAL PRIMARY KEY, state TEXT NOT NULL,"
                      " next_at DOUBLE PRECISION NOT NULL, lease_owner TEXT,"
                      " lease_until DOUBLE PRECISION)")
        setup.execute("INSERT INTO work (state, next_at) SELECT 'pending', %s"
                      " FROM generate_series(1, 10)", (NOW - 1,))
    opened = [psycopg.connect(pg_url) for _ in range(3)]
    for c in opened:  # a claim that had to wait would fail the test instead of hanging it
        c.execute("SET lock_timeout = '2s'")
        c.commit()
    try:
        yield opened
    finally:
        for c in opened:
            c.close()


def _claim(conn: psycopg.Connection[Any], owner: str, *, kind: str = "postgresql",
           now: float = NOW, limit: int = 10) -> set[int]:
    rows = claim(Qmark(conn), kind, table="work", due="state = 'pending' AND next_at <= ?",
                 params=(now,), order="next_at, id", returning="id", owner=owner, now=now,
                 lease=LEASE, limit=limit)
    return {int(r["id"]) for r in rows}


def test_two_front_ends_claim_disjoint_rows_at_the_same_moment(conns) -> None:  # type: ignore[no-untyped-def]
    a, b, c = conns
    first = _claim(a, "front-end-a", limit=5)  # a's transaction is still open: rows locked
    second = _claim(b, "front-end-b")  # b skips a's rows instead of waiting for them
    assert len(first) == 5 and len(second) == 5 and not first & second
    a.commit()
    b.commit()
    assert _claim(c, "front-end-c") == set()  # everything is leased now
    c.commit()
    taken_over = _claim(c, "front-end-c", now=NOW + LEASE + 1)  # both died: c takes all
    assert taken_over == first | second
    c.commit()
    owners = a.execute("SELECT DISTINCT lease_owner FROM work").fetchall()
    assert owners == [("front-end-c",)]


def test_without_skip_locked_the_second_front_end_would_wait(conns) -> None:  # type: ignore[no-untyped-def]
    """Why the lock clause is there: the same claim without it blocks on the first's rows."""
    a, b, _ = conns
    _claim(a, "front-end-a", limit=5)
    with pytest.raises(psycopg.errors.LockNotAvailable):
        _claim(b, "front-end-b", kind="sqlite")
    a.rollback()
    b.rollback()


def test_one_front_end_at_a_time_for_paging_bookkeeping(conns) -> None:  # type: ignore[no-untyped-def]
    a, b, _ = conns
    assert try_exclusive(Qmark(a), "postgresql", PAGING)
    assert try_exclusive(Qmark(a), "postgresql", PAGING)  # again in the same transaction
    assert not try_exclusive(Qmark(b), "postgresql", PAGING)  # never waits
    b.rollback()
    a.commit()  # the lock ends with a's transaction
    assert try_exclusive(Qmark(b), "postgresql", PAGING)
    b.commit()
