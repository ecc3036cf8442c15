"""Intake keeps the paging directory in memory and takes keys from a durable pool.

What must hold however fast intake gets: a message is sealed to whoever is on
call when it commits, even right after an admin changes that (from the CLI,
another connection, or through the server's own writer); and a new tip's
storage key is on disk before any envelope is wrapped under it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from crypto import NotARecipient, open_envelope, unwrap
from hotline.instance_setup import set_on_call
from hotline.keystore.offline import offline_keys
from hotline.services import Services
from tests.helpers.instance import make_instance
from tests.ops.helpers import opened, web_tip

CALM = "Hello, which languages do you answer in? It is for a school poster."


async def _opens(s: Services, message_id: str, who) -> bool:  # type: ignore[no-untyped-def]
    row = await s.db.fetchone("SELECT tip_id, envelope FROM messages WHERE id = ?", (message_id,))
    assert row is not None
    key = await s.keystore.get(row["tip_id"])
    assert key is not None
    try:
        body = open_envelope(unwrap(key, bytes(row["envelope"]), label=row["tip_id"]), who).body
    except NotARecipient:
        return False
    return bool(json.loads(body)["text"])


@pytest.mark.both_stores  # the stamp is per engine (store/stamps.py)
async def test_on_call_changed_from_the_cli_seals_the_next_message_to_the_new_person(
        tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    async with opened(inst.root) as s:
        first = await web_tip(s, CALM)  # the directory is now in memory
        assert not await _opens(s, first.message_id, inst.bob)
        set_on_call(inst.root, ["bob"])  # another connection, as the CLI does it
        second = await web_tip(s, CALM)
        assert await _opens(s, second.message_id, inst.bob)
        assert await _opens(s, second.message_id, inst.recovery)


@pytest.mark.both_stores  # the stamp is per engine (store/stamps.py)
async def test_on_call_changed_through_the_servers_writer_seals_to_the_new_person(
        tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    async with opened(inst.root) as s:
        first = await web_tip(s, CALM)
        assert not await _opens(s, first.message_id, inst.bob)

        def bob_on_call(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM oncall")
            conn.execute("INSERT INTO oncall (position, advocate_id)"
                         " SELECT 0, id FROM advocates WHERE name = 'bob'")

        await s.db.write(bob_on_call)  # the same connection intake commits on
        second = await web_tip(s, CALM)
        assert await _opens(s, second.message_id, inst.bob)


@pytest.mark.both_stores  # the stamp is per engine (store/stamps.py)
async def test_a_write_rolled_back_leaves_the_directory_as_it_was(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    async with opened(inst.root) as s:
        await web_tip(s, CALM)

        def change_then_fail(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM oncall")
            raise RuntimeError("the admin's change failed")

        with pytest.raises(RuntimeError):
            await s.db.write(change_then_fail)
        second = await web_tip(s, CALM)
        assert await _opens(s, second.message_id, inst.alice)
        assert not await _opens(s, second.message_id, inst.bob)


async def test_a_new_tips_key_is_on_disk_before_it_is_handed_out(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    async with opened(inst.root) as s:
        tip_id, key = await s.keystore.take_new()
        with offline_keys(inst.root / "secrets" / "keystore.db") as keys:  # from disk
            assert keys.get(tip_id) == key
        other, _ = await s.keystore.take_new()
        assert other != tip_id
        result = await web_tip(s, CALM)
        assert await s.keystore.get(result.tip_id) is not None
        assert await _opens(s, result.message_id, inst.alice)


def test_another_process_committing_elsewhere_leaves_the_directory_stamp_alone(
        tmp_path: Path) -> None:
    """Several workers (``serve --workers N``) commit to one SQLite file all the time: their
    tips must not look like directory changes, or every message is sealed again and, under
    load, a report is refused with 503 after ``DIRECTORY_TRIES`` (measured: 16 of 1,979 in 8 s
    of wrk at 2 workers). Only a change to the directory's own tables moves the stamp."""
    from hotline.store.connection import open_sqlite
    from hotline.store.stamps import directory_stamp, watch_directory

    inst = make_instance(tmp_path)
    writer, other = open_sqlite(inst.root / "hotline.db"), open_sqlite(inst.root / "hotline.db")
    try:
        watch_directory(writer)
        before = directory_stamp(writer)
        other.execute("INSERT INTO meta (key, value) VALUES ('another-worker', 'a tip')")
        assert directory_stamp(writer) == before  # another process's tip, not a directory change
        writer.execute("INSERT INTO meta (key, value) VALUES ('this-worker', 'a tip')")
        assert directory_stamp(writer) == before
        other.execute("UPDATE advocates SET phone = '+15550100' WHERE name = 'alice'")
        changed = directory_stamp(writer)
        assert changed != before  # another process changed the directory
        writer.execute("DELETE FROM oncall")
        assert directory_stamp(writer) not in (before, changed)  # and so did this one
    finally:
        writer.close()
        other.close()
