"""PostgreSQL under stress: front ends migrating together, the server restarted mid-load.

The restart test starts its own cluster (tests/helpers/pg_cluster.py) so the
session's cluster, which other tests use, is never disturbed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import psycopg
import pytest
from aiohttp.test_utils import TestServer

from hotline.app import make_app
from hotline.client.advocate import AdvocateClient
from hotline.instance_setup import set_on_call
from hotline.store.migrate import available_migrations
from hotline.store.pg_conn import connect
from hotline.store.pg_migrate import current_version
from hotline.store.postgres import PgDatabase, initialise_pg
from tests.conftest import Browser, free_port
from tests.helpers.instance import make_instance
from tests.helpers.pg_cluster import Cluster, start_cluster

pytestmark = pytest.mark.slow


def test_front_ends_starting_together_migrate_exactly_once(pg_url: str) -> None:
    starters = 6
    barrier = threading.Barrier(starters)
    results: list[list[str] | BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            results.append(initialise_pg(pg_url))
        except BaseException as e:
            results.append(e)
    threads = [threading.Thread(target=start) for _ in range(starters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [name for _, name, _ in available_migrations("postgresql")]  # 013_baseline, then on
    assert sorted(map(str, results)) == sorted([str(every)] + ["[]"] * (starters - 1))
    conn = connect(pg_url)
    try:
        assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(every)
        assert current_version(conn) == int(every[-1][:3])
    finally:
        conn.close()


async def test_two_stores_opening_at_once_share_one_schema(pg_url: str) -> None:
    one, two = PgDatabase(pg_url), PgDatabase(pg_url)
    await asyncio.gather(asyncio.to_thread(initialise_pg, pg_url), one.open(), two.open())
    try:
        await one.write(lambda c: c.execute("INSERT INTO meta (key, value) VALUES ('k', 'one')"))
        row = await two.fetchone("SELECT value FROM meta WHERE key = 'k'")
        assert row is not None and row["value"] == "one"
    finally:
        await one.close()
        await two.close()


@pytest.fixture
def own_cluster() -> AsyncIterator[Cluster]:
    cluster = start_cluster()
    if cluster.data_dir is None:
        cluster.close()
        pytest.skip("HOTLINE_TEST_DATABASE_URL names a server this test must not restart")
    try:
        yield cluster  # type: ignore[misc]
    finally:
        cluster.close()


async def test_a_restart_mid_load_answers_503_acknowledges_only_commits_and_recovers(
        tmp_path: Path, own_cluster: Cluster) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    inst = make_instance(tmp_path, public_url=url, database=own_cluster.new_database())
    app = make_app(inst.root, env={})
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    acknowledged: list[str] = []
    statuses: list[int] = []
    restarted = asyncio.Event()
    loaded, outage_seen = asyncio.Event(), asyncio.Event()
    stopped_at: list[int] = []  # how many 503s there were when the server stopped
    after: list[int] = []

    async def reporter(n: int) -> None:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            browser = Browser(url, session)
            for i in range(300):  # bounded; ends sooner once it has seen the recovery
                text = f"report {n}-{i}: they keep our passports"
                status, html = await browser.report(text)
                statuses.append(status)
                if len(acknowledged) >= 5:
                    loaded.set()
                if stopped_at and statuses.count(503) >= stopped_at[0] + 4:
                    outage_seen.set()
                if status == 200:
                    acknowledged.append(text)
                    if restarted.is_set():
                        after.append(1)
                else:
                    assert status == 503, html
                    assert "try again" in html.lower(), html
                    await asyncio.sleep(0.05)
                if restarted.is_set() and len(after) >= 6:
                    return

    async def restart() -> None:
        await loaded.wait()  # under load first
        stopped_at.append(statuses.count(503))
        await asyncio.to_thread(own_cluster.stop, "fast")  # the first half of a restart
        await outage_seen.wait()  # the reporters met the outage
        await asyncio.to_thread(own_cluster.start)
        restarted.set()

    try:
        await asyncio.wait_for(asyncio.gather(restart(), *(reporter(n) for n in range(4))),
                               timeout=300)
        assert set(statuses) == {200, 503}  # a clear 503 meanwhile, never a 500
        # Every acknowledged report opens afterwards, from the database that came back.
        alice = AdvocateClient(url, inst.alice)
        await asyncio.to_thread(alice.login)
        inbox = await asyncio.to_thread(alice.inbox)
        bodies = set()
        for tip in inbox:
            opened = await asyncio.to_thread(alice.read, tip["id"])
            bodies.update(m["body"] for m in opened.messages)
        missing = [t for t in acknowledged if t not in bodies]
        assert not missing, f"{len(missing)} acknowledged reports are not stored"
    finally:
        await server.close()
    with psycopg.connect(own_cluster.url(), autocommit=True):
        pass  # the cluster answers after the test too (close() stops it)


async def test_two_front_ends_on_one_database_share_tips_and_directory_changes(
        tmp_path: Path, pg_url: str) -> None:
    """Two apps (each its own writer, readers and directory cache) on one PostgreSQL:
    reports through either are read through the other, and an on-call change made by
    the CLI reaches both caches before their next report."""
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    inst = make_instance(tmp_path, public_url=urls[0], database=pg_url)
    env = {"HOTLINE_EXTRA_ORIGINS": urls[1]}
    servers = [TestServer(make_app(inst.root, env=env), host="127.0.0.1", port=p) for p in ports]
    for server in servers:
        await server.start_server()
    try:
        async def report(front: int, text: str) -> None:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
                status, html = await Browser(urls[front], s).report(text)
                assert status == 200, html
        for i in range(6):
            await report(i % 2, f"report {i} through front end {i % 2}")
        set_on_call(inst.root, ["bob"])  # another connection, as the CLI does it
        await report(0, "after the change, front end 0")
        await report(1, "after the change, front end 1")

        async def bodies(who, front: int) -> set[str]:  # type: ignore[no-untyped-def]
            client = AdvocateClient(urls[front], who)
            await asyncio.to_thread(client.login)
            found = set()
            for tip in await asyncio.to_thread(client.inbox):
                opened = await asyncio.to_thread(client.read, tip["id"])
                found.update(m["body"] for m in opened.messages if m["body"])
            return found
        assert await bodies(inst.alice, 1) >= {f"report {i} through front end {i % 2}"
                                               for i in range(6)}
        assert await bodies(inst.bob, 0) == {"after the change, front end 0",
                                             "after the change, front end 1"}
    finally:
        for server in servers:
            await server.close()
