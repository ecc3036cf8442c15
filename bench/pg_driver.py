"""psycopg 3 (sync, on Hotline's writer/reader threads) vs asyncpg, on our workload's shape.

Two workloads, each on a throwaway cluster started here (tests/helpers/pg_cluster.py)
with durability ON (``fsync = on``, ``synchronous_commit = on``; the test
clusters turn fsync off), one driver at a time on the same database:

1. **Group commit**: N small inserts (a 1 KB envelope each, like a message)
   arrive together; each runs in its own SAVEPOINT, then one COMMIT.
   - psycopg: the real ``PgDatabase.write`` path (queue → writer thread →
     BEGIN / SAVEPOINT per job / COMMIT → futures resolved), N writes gathered.
   - asyncpg: one connection on the event loop, ``conn.transaction()`` with a
     nested ``transaction()`` (SAVEPOINT) per job: the same SQL round trips.
2. **Point reads**: ``SELECT ... WHERE id = $1`` by primary key, C concurrent
   callers. psycopg: ``PgDatabase.fetchone`` (2 reader threads); asyncpg: a
   pool of 2 connections.

asyncpg is not a Hotline dependency: ``pip install asyncpg`` for this script.

Run: ``.venv/bin/python bench/pg_driver.py [--rounds 30] [--reads 4000]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotline.store.postgres import PgDatabase
from tests.helpers.pg_cluster import start_cluster

TABLE = """CREATE TABLE bench_messages (
    id TEXT PRIMARY KEY, tip_id TEXT NOT NULL, seq BIGINT NOT NULL, envelope BYTEA NOT NULL)"""
ENVELOPE = os.urandom(1024)


def _new_id() -> str:
    return secrets.token_hex(8)


async def psycopg_group_commit(url: str, n: int, rounds: int) -> list[float]:
    db = PgDatabase(url, migrate=False)
    await db.open()
    times = []
    try:
        for _ in range(rounds):
            ids = [_new_id() for _ in range(n)]
            started = time.perf_counter()
            await asyncio.gather(*(db.write(lambda c, i=i: c.execute(
                "INSERT INTO bench_messages (id, tip_id, seq, envelope) VALUES (?, ?, ?, ?)",
                (i, "t" + i, 1, ENVELOPE))) for i in ids))
            times.append(time.perf_counter() - started)
    finally:
        await db.close()
    return times


async def asyncpg_group_commit(url: str, n: int, rounds: int) -> list[float]:
    import asyncpg

    conn = await asyncpg.connect(url)
    times = []
    try:
        for _ in range(rounds):
            ids = [_new_id() for _ in range(n)]
            started = time.perf_counter()
            async with conn.transaction():
                for i in ids:
                    async with conn.transaction():  # a SAVEPOINT, as each job has
                        await conn.execute(
                            "INSERT INTO bench_messages (id, tip_id, seq, envelope)"
                            " VALUES ($1, $2, $3, $4)", i, "t" + i, 1, ENVELOPE)
            times.append(time.perf_counter() - started)
    finally:
        await conn.close()
    return times


async def _timed_reads(call, ids: list[str], concurrency: int) -> list[float]:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    queue = list(ids)

    async def worker() -> None:
        while queue:
            i = queue.pop()
            started = time.perf_counter()
            row = await call(i)
            latencies.append(time.perf_counter() - started)
            assert row is not None
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def psycopg_reads(url: str, ids: list[str], concurrency: int) -> tuple[float, list[float]]:
    db = PgDatabase(url, migrate=False)
    await db.open()
    try:
        started = time.perf_counter()
        lat = await _timed_reads(lambda i: db.fetchone(
            "SELECT tip_id, seq, envelope FROM bench_messages WHERE id = ?", (i,)), ids, concurrency)
        return time.perf_counter() - started, lat
    finally:
        await db.close()


async def asyncpg_reads(url: str, ids: list[str], concurrency: int) -> tuple[float, list[float]]:
    import asyncpg

    pool = await asyncpg.create_pool(url, min_size=2, max_size=2)
    try:
        started = time.perf_counter()
        lat = await _timed_reads(lambda i: pool.fetchrow(
            "SELECT tip_id, seq, envelope FROM bench_messages WHERE id = $1", i), ids, concurrency)
        return time.perf_counter() - started, lat
    finally:
        await pool.close()


def _ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.2f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=30, help="group commits per batch size")
    parser.add_argument("--sizes", default="1,16,64,256", help="jobs per group commit")
    parser.add_argument("--reads", type=int, default=4000, help="point reads per driver")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    import asyncpg
    import psycopg

    cluster = start_cluster()
    try:
        if cluster.data_dir is not None:  # ours: turn durability back on, as in production
            conf = cluster.data_dir / "postgresql.conf"
            conf.write_text(conf.read_text() + "fsync = on\nsynchronous_commit = on\n")
            cluster.restart()
        url = cluster.new_database("bench")
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(TABLE)
        print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
              f"{platform.machine()}, CPython {platform.python_version()}, "
              f"psycopg {psycopg.__version__}, asyncpg {asyncpg.__version__}, "
              f"{os.cpu_count()} cores; PostgreSQL with fsync on")
        print("\n| workload | driver | jobs/s | batch p50 ms | batch p90 ms |")
        print("|---|---|---|---|---|")
        for n in (int(x) for x in args.sizes.split(",")):
            for name, run in (("psycopg 3, writer thread", psycopg_group_commit),
                              ("asyncpg, event loop", asyncpg_group_commit)):
                await run(url, n, 3)  # warm up (connections, plans)
                times = await run(url, n, args.rounds)
                rate = n * len(times) / sum(times)
                print(f"| group commit of {n} | {name} | {rate:.0f} | {_ms(times, 0.5)} |"
                      f" {_ms(times, 0.9)} |")
        with psycopg.connect(url, autocommit=True) as c:
            ids = [r[0] for r in c.execute("SELECT id FROM bench_messages LIMIT %s",
                                           (args.reads,)).fetchall()]
        print(f"\n| point reads ({len(ids)}, {args.concurrency} concurrent) | driver | reads/s |"
              " p50 ms | p99 ms |")
        print("|---|---|---|---|---|")
        for name, reads in (("psycopg 3, 2 reader threads", psycopg_reads),
                            ("asyncpg, pool of 2", asyncpg_reads)):
            await reads(url, ids[:200], args.concurrency)  # warm up
            elapsed, lat = await reads(url, ids, args.concurrency)
            print(f"| | {name} | {len(ids) / elapsed:.0f} | {_ms(lat, 0.5)} | {_ms(lat, 0.99)} |")
    finally:
        cluster.close()


if __name__ == "__main__":
    asyncio.run(main())
