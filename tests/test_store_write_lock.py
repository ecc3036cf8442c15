"""SQLite front ends sharing one file take turns through a kernel lock (store/write_lock.py).

Real processes and real files: a second process writes to the same database, a
holder is killed with ``kill -9`` mid-batch, and the main database's and the key
store's writers run side by side in two processes."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from hotline.store import Database, initialise
from hotline.store.connection import open_sqlite
from hotline.store.write_lock import lock_path_for

ROOT = Path(__file__).resolve().parents[1]


def _insert(action: str) -> Callable[[sqlite3.Connection], int]:
    def fn(c: sqlite3.Connection) -> int:
        return int(c.execute("INSERT INTO audit (at, actor, action) VALUES ('t', 'lock', ?) "
                             "RETURNING id", (action,)).fetchone()[0])
    return fn


def _actions(path: Path) -> list[str]:
    conn = open_sqlite(path)
    try:
        return [r[0] for r in conn.execute("SELECT action FROM audit WHERE actor = 'lock' "
                                           "ORDER BY id")]
    finally:
        conn.close()


def _child(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


async def test_a_batch_waits_for_the_lock_another_front_end_holds(tmp_path: Path) -> None:
    db_path = tmp_path / "hotline.db"
    initialise(db_path)
    db = Database(db_path)
    await db.open()
    try:
        # Another front end's turn, held from outside the writer with the same kernel lock.
        fd = os.open(lock_path_for(db_path), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        pending = asyncio.ensure_future(db.write(_insert("waited")))
        await asyncio.sleep(0.3)
        assert not pending.done()  # not committed (nor started) while the other holds the turn
        assert _actions(db_path) == []
        os.close(fd)  # the holder lets go (closing drops an flock, as a dying process does)
        await asyncio.wait_for(pending, 30)
        assert _actions(db_path) == ["waited"]
    finally:
        await db.close()
    assert oct(lock_path_for(db_path).stat().st_mode & 0o777) == "0o600"


async def test_a_holder_killed_with_kill_9_releases_the_lock_and_its_batch_is_lost(
        tmp_path: Path) -> None:
    db_path = tmp_path / "hotline.db"
    initialise(db_path)
    ready = tmp_path / "ready"
    child = _child("""
        import asyncio, sys, time
        from pathlib import Path
        from hotline.store import Database

        def stuck(c):
            c.execute("INSERT INTO audit (at, actor, action) VALUES ('t', 'lock', 'killed')")
            Path(sys.argv[2]).write_text("in the batch")
            time.sleep(600)  # holds the turn and SQLite's write lock until killed

        async def main():
            db = Database(Path(sys.argv[1]), migrate=False)
            await db.open()
            await db.write(stuck)

        asyncio.run(main())
    """, str(db_path), str(ready))
    try:
        for _ in range(300):
            if ready.exists() or child.poll() is not None:
                break
            await asyncio.sleep(0.1)
        assert ready.exists(), child.communicate()[1]
        db = Database(db_path, migrate=False)
        await db.open()
        try:
            pending = asyncio.ensure_future(db.write(_insert("after")))
            await asyncio.sleep(0.3)
            assert not pending.done()  # waiting for the holder's turn
            child.send_signal(signal.SIGKILL)
            child.wait()
            await asyncio.wait_for(pending, 30)
        finally:
            await db.close()
        assert _actions(db_path) == ["after"]  # the killed batch never committed
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_two_processes_write_the_main_database_and_the_key_store_side_by_side(
        tmp_path: Path) -> None:
    """Each process has a writer on each file (as every worker does); none waits forever."""
    main, keys = tmp_path / "hotline.db", tmp_path / "keystore.db"
    initialise(main)
    initialise(keys)
    code = """
        import asyncio, sys
        from pathlib import Path
        from hotline.store import Database

        def put(tag):
            def fn(c):
                c.execute("INSERT INTO audit (at, actor, action) VALUES ('t', 'lock', ?)", (tag,))
            return fn

        async def main(name, main_db, keys_db):
            a = Database(Path(main_db), migrate=False, batch_max=8)
            b = Database(Path(keys_db), migrate=False, batch_max=8)
            await a.open(); await b.open()
            try:
                await asyncio.gather(*(db.write(put(f"{name}-{i}"))
                                       for i in range(300) for db in (a, b)))
            finally:
                await a.close(); await b.close()
            print("done")

        asyncio.run(main(*sys.argv[1:]))
    """
    children = [_child(code, name, str(main), str(keys)) for name in ("one", "two")]
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0 and out.strip() == "done", err
    for path in (main, keys):
        got = _actions(path)
        assert len(got) == 600 and len(set(got)) == 600
