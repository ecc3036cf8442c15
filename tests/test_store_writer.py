"""The single writer: group commit, isolation of a failing job, durability.

The tests taking ``store_kind`` run on SQLite and on PostgreSQL (``both_stores``)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline.errors import InstanceError
from hotline.store import initialise
from hotline.store.connection import open_sqlite
from hotline.store.factory import open_store
from hotline.store.migrate import available_migrations
from hotline.store.seam import Store, StoreTarget, is_unique_violation, statement_savepoint
from hotline.store.write_lock import WriteLock

BOTH = pytest.mark.both_stores


def _target(tmp_path: Path, request: pytest.FixtureRequest, kind: str) -> StoreTarget:
    if kind == "postgresql":
        return StoreTarget("postgresql", url=request.getfixturevalue("pg_url"))
    return StoreTarget("sqlite", path=tmp_path / "t.db")


@pytest.fixture
def target(tmp_path: Path, request: pytest.FixtureRequest, store_kind: str) -> StoreTarget:
    return _target(tmp_path, request, store_kind)


async def _db(target: StoreTarget) -> Store:
    db = open_store(target, batch_max=64)
    await db.open()
    return db


async def _count(target: StoreTarget, table: str = "audit") -> int:
    db = await _db(target)
    try:
        row = await db.fetchone(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - test constant
        assert row is not None
        return int(row[0])
    finally:
        await db.close()


@BOTH
async def test_concurrent_writes_commit_in_groups(target: StoreTarget) -> None:
    db = await _db(target)
    try:
        async def put(i: int) -> int:
            return int(await db.write(lambda c: c.execute(
                "INSERT INTO audit (at, actor, action) VALUES ('t', 'test', ?) RETURNING id",
                (str(i),)).fetchone()[0]))
        ids = await asyncio.gather(*(put(i) for i in range(300)))
        assert len(set(ids)) == 300
        assert db.writer.stats.jobs == 300  # type: ignore[attr-defined]
        assert db.writer.stats.batches < 300  # type: ignore[attr-defined] # they were grouped
    finally:
        await db.close()
    assert await _count(target) == 300


@BOTH
async def test_a_failing_job_rolls_back_alone(target: StoreTarget) -> None:
    db = await _db(target)
    try:
        def good(c: sqlite3.Connection) -> None:
            c.execute("INSERT INTO audit (at, actor, action) VALUES ('t', 'a', 'good')")

        def bad(c: sqlite3.Connection) -> None:
            c.execute("INSERT INTO audit (at, actor, action) VALUES ('t', 'a', 'bad')")
            raise ValueError("boom")

        results = await asyncio.gather(db.write(good), db.write(bad), db.write(good),
                                       return_exceptions=True)
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], ValueError)
        rows = await db.fetchall("SELECT action FROM audit")
        assert [r[0] for r in rows] == ["good", "good"]
    finally:
        await db.close()


@BOTH
async def test_close_finishes_queued_writes(target: StoreTarget) -> None:
    db = await _db(target)
    tasks = [asyncio.create_task(db.write(lambda c: c.execute(
        "INSERT INTO audit (at, actor, action) VALUES ('t', 'a', 'x')"))) for _ in range(50)]
    await asyncio.sleep(0)
    await db.close()
    await asyncio.gather(*tasks)
    assert await _count(target) == 50


def test_pragmas_are_durable(tmp_path: Path) -> None:
    initialise(tmp_path / "t.db")
    conn = open_sqlite(tmp_path / "t.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    initialise(tmp_path / "t.db")
    conn = sqlite3.connect(tmp_path / "t.db")
    conn.execute(f"PRAGMA user_version = {available_migrations()[-1][0] + 1}")
    conn.close()
    with pytest.raises(InstanceError, match="newer than this Hotline"):
        initialise(tmp_path / "t.db")


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    assert initialise(tmp_path / "t.db") == [name for _, name, _ in available_migrations()]
    assert initialise(tmp_path / "t.db") == []


_TIP = ("INSERT INTO tips (id, ref, channel, urgency, urgency_source, status, created_at,"
        " updated_at) VALUES ")


@BOTH
async def test_a_statement_refused_by_a_constraint_is_undone_alone_and_the_job_goes_on(
        target: StoreTarget) -> None:
    """``statement_savepoint`` (a savepoint on PostgreSQL, nothing on SQLite, which undoes
    the statement itself): the refused statement leaves no row, not even its first one."""
    db = await _db(target)
    try:
        def job(c: sqlite3.Connection) -> str:
            c.execute(_TIP + "('t1', 'R1', 'web', 'low', 'rules', 'new', 'x', 'x')")
            try:
                with statement_savepoint(c, "tip_insert"):  # t2 is fine, t3 takes R1's ref
                    c.execute(_TIP + "('t2', 'R2', 'web', 'low', 'rules', 'new', 'x', 'x'),"
                                     " ('t3', 'R1', 'web', 'low', 'rules', 'new', 'x', 'x')")
            except Exception as e:
                assert is_unique_violation(e, "tips", "ref")
            c.execute(_TIP + "('t4', 'R4', 'web', 'low', 'rules', 'new', 'x', 'x')")
            return "done"

        assert await db.write(job) == "done"
        rows = await db.fetchall("SELECT id FROM tips ORDER BY id")
        assert [r[0] for r in rows] == ["t1", "t4"]
    finally:
        await db.close()


@BOTH
async def test_a_caller_that_gives_up_does_not_cancel_its_queued_write(target: StoreTarget) -> None:
    db = await _db(target)
    try:
        release = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Something holds the writer so the next job queues: on SQLite the file's write
        # turn, held here as a sibling front end would (its jobs run on the event loop,
        # store/loop_writer.py); on PostgreSQL a job waiting on the writer's thread.
        turn = WriteLock(target.path) if target.kind == "sqlite" else None  # type: ignore[arg-type]

        def slow(c: sqlite3.Connection) -> None:
            if turn is None:
                asyncio.run_coroutine_threadsafe(release.wait(), loop).result(30)

        if turn is not None:
            turn.acquire()
        first = asyncio.ensure_future(db.write(slow))
        await asyncio.sleep(0.2)
        queued = asyncio.ensure_future(db.write(lambda c: c.execute(
            "INSERT INTO audit (at, actor, action) VALUES ('t', 'a', 'kept')")))
        await asyncio.sleep(0.1)
        queued.cancel()  # the caller gives up (a timeout, a client gone)
        release.set()
        if turn is not None:
            turn.close()
        await first
        with pytest.raises(asyncio.CancelledError):
            await queued
    finally:
        await db.close()  # finishes what was queued
    db = await _db(target)
    try:
        rows = await db.fetchall("SELECT action FROM audit")
        assert [r[0] for r in rows] == ["kept"]
    finally:
        await db.close()


@BOTH
async def test_a_statement_failing_unread_fails_its_own_job_not_the_next(target: StoreTarget) -> None:
    """On PostgreSQL the writer pipelines statements (pg_conn.py): an INSERT whose answer the
    job never reads may fail after the job's Python returned; the job is settled before its
    RELEASE, so the error is still its own, and the jobs around it commit."""
    db = await _db(target)
    try:
        await db.write(lambda c: c.execute(_TIP + "('t1', 'R1', 'web', 'low', 'rules', 'new',"
                                                  " 'x', 'x')"))

        def unread_duplicate(c: sqlite3.Connection) -> str:
            c.execute(_TIP + "('t2', 'R1', 'web', 'low', 'rules', 'new', 'x', 'x')")
            return "not reached on SQLite"

        def good(tag: str) -> Callable[[sqlite3.Connection], str]:
            def fn(c: sqlite3.Connection) -> str:
                c.execute("INSERT INTO audit (at, actor, action) VALUES ('t', 'a', ?)", (tag,))
                return tag
            return fn

        results = await asyncio.gather(db.write(good("before")), db.write(unread_duplicate),
                                       db.write(good("after")), return_exceptions=True)
        assert results[0] == "before" and results[2] == "after"
        assert isinstance(results[1], Exception) and is_unique_violation(results[1], "tips", "ref")
        assert [r[0] for r in await db.fetchall("SELECT id FROM tips")] == ["t1"]
        rows = await db.fetchall("SELECT action FROM audit ORDER BY id")
        assert [r[0] for r in rows] == ["before", "after"]
    finally:
        await db.close()


async def test_sqlite_jobs_run_on_the_loop_unless_the_file_is_shared(tmp_path: Path) -> None:
    """One front end: the write callables run on the event loop (no thread hop per statement).
    Once the file's write turn had to be waited for (a sibling front end writes), batches run
    on the writer's helper thread with the turn, so the sibling never waits for this loop."""
    import threading

    from hotline.store import loop_writer

    target = StoreTarget("sqlite", path=tmp_path / "t.db")
    db = await _db(target)
    try:
        where: list[str] = []

        def job(c: sqlite3.Connection) -> None:
            where.append(threading.current_thread().name)

        await db.write(job)
        assert where == [threading.current_thread().name]  # this loop's thread
        turn = WriteLock(target.path)  # type: ignore[arg-type]
        turn.acquire()  # a sibling holds the file
        waiting = asyncio.ensure_future(db.write(job))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # nobody is answered before its commit
        turn.close()
        await waiting
        await db.write(job)  # within SHARED_FOR of the wait: still on the helper
        assert where[1].startswith("hotline-writer") and where[2] == where[1]
        assert loop_writer.SHARED_FOR >= 1
    finally:
        await db.close()


async def test_sqlite_a_loop_blocked_by_a_sync_writer_does_not_hold_the_turn(tmp_path: Path) -> None:
    """The write turn is never held waiting on a loop that cannot come back. Something on
    the loop (a test's or a tool's in-process admin write, a slow callback) that blocks it
    while waiting for the same file's write lock must not deadlock with a batch that has
    BEGUN and waits for that loop to run its jobs: the helper runs them itself after a
    short grace, commits, and the blocked writer gets the lock (else it waits out its
    busy timeout and fails with "database is locked")."""
    target = StoreTarget("sqlite", path=tmp_path / "t.db")
    db = await _db(target)
    outcome: list[str] = []

    def blocking_admin_write() -> None:  # runs ON the loop, as an in-process admin write would
        import time
        time.sleep(0.3)  # the batch below has taken the turn and BEGUN meanwhile
        conn = sqlite3.connect(target.path, timeout=3)  # type: ignore[arg-type]
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO audit (at, actor, action, detail) VALUES ('t', 'admin', 'x', '')")
            conn.execute("COMMIT")
            outcome.append("admin committed")
        except sqlite3.OperationalError as e:
            outcome.append(f"admin failed: {e}")
        finally:
            conn.close()

    def job(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO audit (at, actor, action, detail) VALUES ('t', 'job', 'y', '')")

    try:
        writing = asyncio.ensure_future(db.write(job))
        await asyncio.sleep(0)  # the drain task starts and hands BEGIN to the helper
        asyncio.get_running_loop().call_soon(blocking_admin_write)
        await writing
        assert outcome == ["admin committed"]
    finally:
        await db.close()
    assert await _count(target) == 2
