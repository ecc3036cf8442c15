"""An SMS flood from many numbers: every message is stored, but the automatic replies
it can make us send (each costs money; SMS pumping is after exactly that) are bounded
by one global budget per minute, counted in the database without any per-number row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hotline.store.migrate import migrate
from hotline.twilio.conversations import BUDGET_AUTO_REPLY, take_budget
from tests.helpers.twilio_fake import FakeTwilio
from tests.twilio.conftest import sms_server, twiml_reply

MINUTE = 60 * 29_000_000  # the start of some minute, as unix time


def _db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn)
    return conn


def test_the_budget_is_per_minute_and_survives_a_restart(tmp_path: Path) -> None:
    conn = _db(tmp_path / "h.db")
    assert [take_budget(conn, BUDGET_AUTO_REPLY, MINUTE + i, 3) for i in range(5)] == [
        True, True, True, False, False]
    conn.close()
    conn = _db(tmp_path / "h.db")  # another process, or the same after a restart
    assert not take_budget(conn, BUDGET_AUTO_REPLY, MINUTE + 59.9, 3)
    assert take_budget(conn, BUDGET_AUTO_REPLY, MINUTE + 60, 3)  # the next minute
    # Only the current minute is kept: a count and a slot, nothing about anyone.
    assert conn.execute("SELECT * FROM flood_budget").fetchall() == [
        (BUDGET_AUTO_REPLY, MINUTE + 60, 1)]
    assert not take_budget(conn, BUDGET_AUTO_REPLY, MINUTE + 61, 0)  # 0: no automatic replies


async def test_a_flood_from_many_numbers_is_stored_but_replies_are_bounded(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    async with sms_server(tmp_path, fake_twilio, HOTLINE_SMS_AUTO_REPLY_BUDGET="3") as sms:
        slots = set()
        replies = []
        for i in range(12):
            slots.add(int(sms.query("SELECT strftime('%s','now')")[0][0]) // 60)
            status, twiml = await sms.text(f"flood {i}", sender=f"+1415556{i:04d}")
            assert status == 200
            replies.append(twiml_reply(twiml))
            slots.add(int(sms.query("SELECT strftime('%s','now')")[0][0]) // 60)
        sent = sum(r is not None for r in replies)
        assert 3 <= sent <= 3 * len(slots)  # 3 per minute (the run may cross into the next)
        assert replies[:3] == [replies[0]] * 3 and replies[0] is not None
        # Every message is a stored report; no reply was sent by the REST API either.
        assert sms.count("messages") == 12 and sms.count("tips") == 12
        assert not fake_twilio.sent
        # A texter who got no reply for lack of budget was not marked as answered.
        assert sms.count("sms_auto_replies") == sent
