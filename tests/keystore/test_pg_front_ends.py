"""The key store on its own PostgreSQL database, shared by several front ends.

Each front end is a ``KeyStore`` with its own seam writer, readers and caches
on the one database and the one epochs folder, as two ``hotline serve``
processes would have.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from crypto import new_storage_key
from hotline.config import load_config
from hotline.errors import ConfigError
from hotline.keystore import KeyStore, keystore_target, open_keystore
from hotline.keystore.offline import offline_keys_at
from hotline.keystore.rotation import epoch_status
from hotline.store.seam import StoreTarget
from tests.helpers.instance import make_instance
from tests.helpers.process import HOTLINE, cli_env
from tests.keystore.test_shred_after_rotation_pg import keystore_database


@asynccontextmanager
async def pg_front_end(root: Path, url: str, **values: Any) -> AsyncIterator[KeyStore]:
    config = load_config(root, {"HOTLINE_KEYSTORE_URL": url})
    ks = open_keystore(root, {**config.values, **values}, {"HOTLINE_KEYSTORE_URL": url})
    await ks.open()
    try:
        yield ks
    finally:
        await ks.close()


async def _states(ks: KeyStore) -> dict[str, str]:
    return {e.id: e.state for e in await epoch_status(ks.db, ks.epochs)}


async def test_two_front_ends_on_postgresql_see_shreds_and_rotate_without_losing_keys(
        tmp_path: Path, pg_cluster: Any) -> None:
    url = keystore_database(pg_cluster)
    root = make_instance(tmp_path).root
    small = {"keystore.rotation_batch": 3}
    async with pg_front_end(root, url, **small) as a, pg_front_end(root, url, **small) as b:
        assert a.db.kind == b.db.kind == "postgresql"
        key = await a.create("gone")
        assert await b.get("gone") == key
        await a.destroy("gone")
        assert await b.get("gone") is None  # b's cache does not keep serving it

        keys = {f"old-{i}": await a.create(f"old-{i}") for i in range(30)}

        async def write(ks: KeyStore, prefix: str) -> None:
            for i in range(20):
                keys[f"{prefix}-{i}"] = await ks.create(f"{prefix}-{i}")
                await asyncio.sleep(0)

        await asyncio.gather(a.rotate(), b.rotate(), write(a, "a"), write(b, "b"), b.rotate())
        for tip_id, k in keys.items():
            assert await a.get(tip_id) == k and await b.get(tip_id) == k
        states = await _states(a)
        assert list(states.values()).count("current") == 1 and "retiring" not in states.values()
    target = keystore_target(root, "sqlite", {"HOTLINE_KEYSTORE_URL": url})
    with offline_keys_at(target) as stored:
        assert {t: stored.get(t) for t in keys} == keys


def _mid_rotation(url: str) -> bool:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT e.state, (SELECT COUNT(*) FROM tip_keys k WHERE"
                            " k.epoch_id = e.id) FROM epochs e WHERE e.state <> 'destroyed'"
                            ).fetchall()
    return sorted(s for s, n in rows if n) == ["current", "retiring"]


def _kill_mid_rotation(root: Path, url: str) -> bool:
    """Run the CLI's rotation one key per batch; kill -9 it between batches (False: it finished)."""
    proc = subprocess.Popen([*HOTLINE, "keystore", "rotate", str(root), "--batch", "1"],
                            env=cli_env(HOTLINE_KEYSTORE_URL=url), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120  # a bound on a hung process, not a timing assertion
        while proc.poll() is None and time.monotonic() < deadline:
            if _mid_rotation(url):
                os.kill(proc.pid, signal.SIGSTOP)
                interrupted = _mid_rotation(url)  # what is committed, now frozen
                os.kill(proc.pid, signal.SIGKILL)
                return interrupted
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


async def test_a_rotation_on_postgresql_killed_between_batches_loses_no_key(
        tmp_path: Path, pg_cluster: Any) -> None:
    url = keystore_database(pg_cluster)
    root = make_instance(tmp_path).root
    keys = {f"tip-{i:03}": new_storage_key() for i in range(300)}
    async with pg_front_end(root, url) as ks:
        for tip_id, key in keys.items():
            await ks.create(tip_id, key)
    interrupted = any(_kill_mid_rotation(root, url) for _ in range(5))
    assert interrupted, "the rotation always finished before it could be stopped"
    target = keystore_target(root, "sqlite", {"HOTLINE_KEYSTORE_URL": url})
    with offline_keys_at(target) as stored:
        assert {t: stored.get(t) for t in keys} == keys
    async with pg_front_end(root, url) as ks:  # the advisory lock died with the process
        report = await ks.rotate(wait=False)
        assert report.created is None and len(report.retired) == 1
        assert "retiring" not in (await _states(ks)).values()
        for tip_id in ("tip-000", "tip-299"):
            assert await ks.get(tip_id) == keys[tip_id]


def test_the_key_store_may_not_be_the_main_database(tmp_path: Path) -> None:
    main = StoreTarget("postgresql", url="postgresql://hl:pw@db.example:5432/hotline",
                       root=tmp_path)
    with pytest.raises(ConfigError, match="is the main database"):
        keystore_target(tmp_path, "sqlite",
                        {"HOTLINE_KEYSTORE_URL": "postgresql://ks:pw2@db.example/hotline"}, main)
    other = keystore_target(tmp_path, "sqlite",
                            {"HOTLINE_KEYSTORE_URL": "postgresql://ks:pw2@db.example/keys"}, main)
    assert other.kind == "postgresql"


async def test_an_instance_on_postgresql_keeps_its_keys_in_a_database_of_their_own(
        tmp_path: Path, pg_cluster: Any, pg_url: str) -> None:
    from crypto import Identity, open_envelope, unwrap
    from hotline.instance_setup import create_instance
    from tests.ops.helpers import opened, web_tip

    ks_url = keystore_database(pg_cluster)
    root = tmp_path / "instance"
    recovery = Identity.generate("recovery")
    create_instance(root, recovery.public, database=pg_url, keystore_database=ks_url)
    text = (root / "hotline.toml").read_text(encoding="utf-8")
    password = ks_url.split(":")[2].split("@")[0]
    assert password not in text and (root / "secrets" / "keystore-url").stat().st_mode & 0o077 == 0
    assert not (root / "secrets" / "keystore.db").exists()
    async with opened(root) as s:
        assert s.db.kind == "postgresql" and s.keystore.db.kind == "postgresql"
        result = await web_tip(s, "a report kept on PostgreSQL")
        key = await s.keystore.get(result.tip_id)
        row = await s.db.fetchone("SELECT envelope FROM messages WHERE tip_id = ?",
                                  (result.tip_id,))
    assert key is not None and row is not None
    body = open_envelope(unwrap(key, bytes(row[0]), label=result.tip_id), recovery).body
    assert b"a report kept on PostgreSQL" in body
    # The main database's role holds no table of the key store, and the other way round.
    main_tables = pg_cluster.psql("SELECT string_agg(tablename, ',') FROM pg_tables WHERE "
                                  "schemaname = 'public'", pg_url.rsplit("/", 1)[1])
    assert "tip_keys" not in main_tables and "tips" in main_tables


def test_secrets_backups_and_restore_refuse_a_postgresql_key_store_and_say_why(
        tmp_path: Path, pg_cluster: Any) -> None:
    from tests.helpers.process import run_cli

    url = keystore_database(pg_cluster)
    root = make_instance(tmp_path).root
    for args in (("backup-secrets", str(root), str(tmp_path / "s.hlsb")),
                 ("restore", str(root), str(tmp_path / "missing.db"))):
        proc = run_cli(*args, check=False, HOTLINE_KEYSTORE_URL=url)
        assert proc.returncode != 0 and "own PostgreSQL database" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
        assert url.split("@")[0].split(":")[-1] not in proc.stderr  # no password
    assert not (tmp_path / "s.hlsb").exists()
