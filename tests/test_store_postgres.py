"""The PostgreSQL store behind the seam: the adapter, migrations, and failures.

Runs against the session's throwaway cluster (tests/helpers/pg_cluster.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from crypto import Identity
from hotline.errors import InstanceError, ServiceUnavailable
from hotline.instance_setup import create_instance
from hotline.store.factory import open_store, sync_transaction
from hotline.store.migrate import available_migrations, latest_version
from hotline.store.pg_conn import connect, translate
from hotline.store.pg_migrate import current_version
from hotline.store.postgres import PgDatabase, initialise_pg
from hotline.store.seam import (
    StoreTarget,
    is_unique_violation,
    statement_savepoint,
    store_target,
)


def test_placeholders_are_translated_outside_quotes_only() -> None:
    assert translate("SELECT ? WHERE a = ?") == "SELECT %s WHERE a = %s"
    assert translate("SELECT '?', \"a?\", ? -- why?\n") == "SELECT '?', \"a?\", %s -- why?\n"
    assert translate("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', %s"
    assert translate("SELECT 5 % 2, '100%' /* ? % */") == "SELECT 5 %% 2, '100%%' /* ? %% */"


async def test_rows_read_by_position_and_name(pg_url: str) -> None:
    db = PgDatabase(pg_url)
    await db.open()
    try:
        await db.write(lambda c: c.execute(
            "INSERT INTO used_once (key, expires_at, receipt_box) VALUES (?, ?, ?)",
            (b"\x00k", 5, b"box")))
        row = await db.fetchone("SELECT key, expires_at, receipt_box AS box, '?' AS q"
                                " FROM used_once WHERE key = ?", (b"\x00k",))
        assert row is not None
        assert row[0] == b"\x00k" and type(row[0]) is bytes
        assert row["box"] == b"box" and row["expires_at"] == 5 and row["q"] == "?"
        assert row.keys() == ["key", "expires_at", "box", "q"]
        assert tuple(row) == (b"\x00k", 5, b"box", "?")
        with pytest.raises(IndexError):
            row["nope"]
        # Booleans are stored as 0/1, as on SQLite.
        await db.write(lambda c: c.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)", ("flag", "x")))
        assert (await db.fetchone("SELECT COUNT(*) FROM meta WHERE 1 = ?", (True,)))[0] == 1
    finally:
        await db.close()


def test_migrations_run_once_and_a_newer_database_is_refused(pg_url: str) -> None:
    every = [name for _, name, _ in available_migrations("postgresql")]
    assert every[0] == "013_baseline.sql"  # later numbers follow it (015: the receipt budget)
    assert initialise_pg(pg_url) == every
    assert initialise_pg(pg_url) == []
    conn = connect(pg_url)
    try:
        assert current_version(conn) == latest_version("postgresql")
        conn.execute("INSERT INTO schema_migrations (version, name, applied_at)"
                     " VALUES (?, 'future.sql', 'now')", (latest_version("postgresql") + 1,))
    finally:
        conn.close()
    with pytest.raises(InstanceError, match="newer than this Hotline"):
        initialise_pg(pg_url)


def test_a_database_holding_other_tables_is_refused(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute("CREATE TABLE payroll (id int)")
    with pytest.raises(InstanceError, match="not empty"):
        initialise_pg(pg_url)


async def test_a_serialization_failure_reruns_the_whole_batch(pg_url: str) -> None:
    db = PgDatabase(pg_url)
    await db.open()
    tries: list[int] = []

    def conflicting(c) -> str:  # type: ignore[no-untyped-def]
        c.execute("INSERT INTO audit (at, actor, action) VALUES ('t', 'a', 'conflicting')")
        tries.append(1)
        if len(tries) == 1:  # the server itself raises 40001, as under real contention
            c.execute("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")
        return "done"

    def other(c) -> None:  # type: ignore[no-untyped-def]
        c.execute("INSERT INTO audit (at, actor, action) VALUES ('t', 'a', 'other')")
    try:
        results = await asyncio.gather(db.write(other), db.write(conflicting), db.write(other))
        assert results == [None, "done", None]
        assert len(tries) == 2
        rows = await db.fetchall("SELECT action FROM audit ORDER BY id")
        assert sorted(r[0] for r in rows) == ["conflicting", "other", "other"]
    finally:
        await db.close()


async def test_a_connection_lost_mid_batch_fails_the_batch_with_503_then_recovers(
        pg_url: str) -> None:
    db = PgDatabase(pg_url)
    await db.open()

    def written_then_cut(c) -> None:  # type: ignore[no-untyped-def]
        c.execute("INSERT INTO audit (at, actor, action) VALUES ('t', 'a', 'lost')")
        c.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    def neighbour(c) -> None:  # type: ignore[no-untyped-def]
        c.execute("INSERT INTO audit (at, actor, action) VALUES ('t', 'a', 'neighbour')")
    try:
        results = await asyncio.gather(db.write(neighbour), db.write(written_then_cut),
                                       return_exceptions=True)
        assert isinstance(results[1], ServiceUnavailable), results
        assert "database is unavailable" in str(results[1])
        # The neighbour shared the batch (then it failed too) or committed before it.
        together = isinstance(results[0], ServiceUnavailable)
        assert together or results[0] is None
        # Nothing of the failed batch was committed, and the next write reconnects by itself.
        await db.write(lambda c: c.execute(
            "INSERT INTO audit (at, actor, action) VALUES ('t', 'a', 'after')"))
        rows = await db.fetchall("SELECT action FROM audit ORDER BY id")
        assert [r["action"] for r in rows] == ["after"] if together else ["neighbour", "after"]
        assert db.writer.reconnects == 1
    finally:
        await db.close()


async def test_connections_killed_while_idle_are_replaced_without_an_error(pg_url: str) -> None:
    db = PgDatabase(pg_url)
    await db.open()
    try:
        await db.write(lambda c: c.execute("INSERT INTO meta (key, value) VALUES ('a', 'b')"))
        assert await db.fetchone("SELECT value FROM meta") is not None
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        await db.write(lambda c: c.execute("INSERT INTO meta (key, value) VALUES ('c', 'd')"))
        rows = await db.fetchall("SELECT key FROM meta ORDER BY key")
        assert [r[0] for r in rows] == ["a", "c"]
    finally:
        await db.close()


def test_a_constraint_error_inside_a_savepoint_leaves_the_transaction_usable(
        pg_url: str, tmp_path: Path) -> None:
    target = StoreTarget("postgresql", url=pg_url, root=tmp_path)
    with sync_transaction(target) as conn:
        conn.execute("INSERT INTO tips (id, ref, channel, urgency, urgency_source, status,"
                     " created_at, updated_at) VALUES ('t1', 'R1', 'web', 'low', 'rules',"
                     " 'new', 'x', 'x')")
        with pytest.raises(psycopg.errors.UniqueViolation) as caught, \
                statement_savepoint(conn):
            conn.execute("INSERT INTO tips (id, ref, channel, urgency, urgency_source, status,"
                         " created_at, updated_at) VALUES ('t2', 'R1', 'web', 'low', 'rules',"
                         " 'new', 'x', 'x')")
        assert is_unique_violation(caught.value, "tips", "ref")
        assert not is_unique_violation(caught.value, "tips", "thread_hash")
        conn.execute("INSERT INTO meta (key, value) VALUES ('still', 'fine')")
    with sync_transaction(target) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'still'").fetchone()[0] == "fine"


def test_the_config_names_the_database_and_the_secret_holds_the_password(tmp_path: Path) -> None:
    root = tmp_path / "inst"
    (root / "secrets").mkdir(parents=True)
    (root / "hotline.toml").write_text('[store]\ndatabase = "postgresql://hl@db:5432/hotline"\n')
    assert store_target(root, env={}).url == "postgresql://hl@db:5432/hotline"
    (root / "secrets" / "database-url").write_text("postgresql://hl:s3cret@db:5432/hotline\n")
    target = store_target(root, env={})
    assert target.url == "postgresql://hl:s3cret@db:5432/hotline"
    assert "s3cret" not in target.describe()
    (root / "secrets" / "database-url").write_text("postgresql://hl:s3cret@other:5432/x\n")
    with pytest.raises(Exception, match="does not hold the URL"):
        store_target(root, env={})
    env = {"HOTLINE_DATABASE_URL": "postgresql://u:p@h/d"}
    assert store_target(root, env=env).url == "postgresql://u:p@h/d"
    assert store_target(tmp_path / "sqlite-one", env={}).kind == "sqlite"


def test_an_instance_store_takes_its_pre_migration_dumps_into_the_instance_folder(
        tmp_path: Path) -> None:
    """Services.open and the CLI build the store from the instance's target: an upgrade on
    PostgreSQL then dumps into ``backups/`` there (it was refused for want of a folder)."""
    root = tmp_path / "inst"
    (root / "secrets").mkdir(parents=True)
    (root / "hotline.toml").write_text('[store]\ndatabase = "postgresql://hl@db:5432/x"\n')
    db = open_store(store_target(root, env={}))
    assert isinstance(db, PgDatabase) and db.backup_dir == root / "backups"


@pytest.mark.skipif(latest_version("postgresql") <= 13,
                    reason="no PostgreSQL migration after the baseline yet (014 is the leases')")
def test_init_on_an_older_database_dumps_it_before_upgrading(tmp_path: Path, pg_url: str) -> None:
    latest = latest_version("postgresql")
    with psycopg.connect(pg_url, autocommit=True) as c:  # the database an older release left
        c.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                  " name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        for number, name, sql in available_migrations("postgresql"):
            if number < latest:
                c.execute(sql.encode())
                c.execute("INSERT INTO schema_migrations VALUES (%s, %s, 'then')", (number, name))
    root = tmp_path / "inst"
    create_instance(root, Identity.generate("recovery").public, database=pg_url)
    dumps = list((root / "backups").glob(f"pre-migrate-v*-to-v{latest:03d}-*.pgdump"))
    assert len(dumps) == 1 and dumps[0].stat().st_size > 0
    conn = connect(pg_url)
    try:
        assert current_version(conn) == latest
    finally:
        conn.close()


async def test_a_statement_the_server_gives_up_on_is_a_503_not_a_500(pg_url: str) -> None:
    db = PgDatabase(pg_url)
    await db.open()
    try:
        def slow(c) -> None:  # type: ignore[no-untyped-def]
            c.execute("SET LOCAL statement_timeout = '10ms'")
            c.execute("SELECT pg_sleep(5)")
        with pytest.raises(ServiceUnavailable, match="busy"):
            await db.write(slow)
        await db.write(lambda c: c.execute("INSERT INTO meta (key, value) VALUES ('ok', 'y')"))
        assert (await db.fetchone("SELECT value FROM meta WHERE key = 'ok'"))[0] == "y"
    finally:
        await db.close()
