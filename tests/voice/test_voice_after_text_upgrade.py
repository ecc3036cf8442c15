"""Tips stored before schema v7 (no ``messages.channel``) open after the upgrade,
with no envelope rewritten (issue 12 §1).

The database is brought to the legacy shape the previous release wrote —
migrations 001–006 exactly, checked against a fresh database migrated that
far — with SMS and voice messages in one tip, as that release stored them
(the envelope code is unchanged; only the column is new). The service then
starts on it, migrates, fills each message's channel from its envelope's
header, and the CLI opens every message and the voicemail.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from hotline.store.migrate import _statements, available_migrations
from tests.conftest import free_port
from tests.helpers.instance import make_instance
from tests.helpers.twilio_fake import FakeTwilio
from tests.twilio.conftest import sms_server
from tests.voice.conftest import give_phones
from tests.voice.test_voice_after_text import check_every_message_opens, leave_voicemail, text

LEGACY = 6


def schema(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return sorted((r[0], " ".join(r[1].split())) for r in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"))


def legacy_schema(tmp_path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(tmp_path / "legacy-reference.db", isolation_level=None)
    try:
        for number, _name, sql in available_migrations():
            if number <= LEGACY:
                for statement in _statements(sql):
                    conn.execute(statement)
        return schema(conn)
    finally:
        conn.close()


def to_legacy_shape(db: Path) -> None:
    """What the previous release left on disk: v6, no message channels, no inbox indexes.

    A fresh database made by migrations 001–006 only, filled with the rows of
    every v6 table (the columns v6 had) from the current one, then put in its
    place: whatever later migrations add, the result is the v6 shape.
    """
    legacy = db.with_name("legacy.db")
    conn = sqlite3.connect(legacy, isolation_level=None)
    try:
        for number, _name, sql in available_migrations():
            if number <= LEGACY:
                for statement in _statements(sql):
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {LEGACY}")
        conn.execute("ATTACH DATABASE ? AS cur", (str(db),))
        conn.execute("PRAGMA foreign_keys = OFF")
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            old = [r[1] for r in conn.execute(f"PRAGMA main.table_info({table})")]
            now = {r[1] for r in conn.execute(f"PRAGMA cur.table_info({table})")}
            cols = ", ".join(c for c in old if c in now)
            conn.execute(f"DELETE FROM main.{table}")  # noqa: S608 - test constants
            conn.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM cur.{table}")  # noqa: S608
        conn.execute("DETACH DATABASE cur")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    legacy.replace(db)


def envelopes(db: Path) -> dict[str, bytes]:
    conn = sqlite3.connect(db)
    try:
        return {r[0]: bytes(r[1]) for r in conn.execute("SELECT id, envelope FROM messages")}
    finally:
        conn.close()


async def test_a_legacy_database_with_sms_and_voice_in_one_tip_opens_after_upgrade(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{free_port()}")
    give_phones(inst, on_call=["alice", "bob"])
    db = inst.root / "hotline.db"
    async with sms_server(tmp_path, fake_twilio, instance=inst) as live:
        await text(live, "first text")
        await leave_voicemail(live)
        await text(live, "second text")
    await asyncio.to_thread(to_legacy_shape, db)
    conn = sqlite3.connect(db)
    try:
        assert schema(conn) == legacy_schema(tmp_path)
    finally:
        conn.close()
    before = envelopes(db)

    async with sms_server(tmp_path, fake_twilio, instance=inst) as live:
        assert not live.query("SELECT id FROM messages WHERE channel IS NULL")
        await check_every_message_opens(live, tmp_path, "sms")
    assert envelopes(db) == before  # not one envelope byte was rewritten
    assert list((inst.root / "backups").glob("pre-migrate-v006-to-v*.db"))
