"""Who decides what goes: retention periods, reporters' requests, holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hotline.ops.retention import RetentionPolicy, TipFacts, due, request_deletion, set_hold
from hotline.ops.runtime import retention_pass
from tests.conftest import Browser, Live
from tests.helpers.instance import make_instance
from tests.ops.helpers import age_tip, opened, sms_tip, web_tip

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
DAY = 86400.0
POLICY = RetentionPolicy({"new": None, "acknowledged": None, "in_progress": None,
                          "closed": 90 * DAY}, {"critical": 365 * DAY})


def _tip(status: str = "closed", urgency: str = "normal", days: float = 100,
         requested: str | None = None, held: bool = False) -> TipFacts:
    return TipFacts("t1", status, urgency, NOW - timedelta(days=days), requested, held)


def test_closed_tips_go_after_their_period_and_open_ones_never() -> None:
    assert [d.reason for d in due(POLICY, [_tip()], NOW)] == ["retention"]
    assert due(POLICY, [_tip(days=89)], NOW) == []
    assert due(POLICY, [_tip(status="in_progress", days=5000)], NOW) == []


def test_urgency_only_lengthens_a_period() -> None:
    assert due(POLICY, [_tip(urgency="critical", days=100)], NOW) == []
    assert len(due(POLICY, [_tip(urgency="critical", days=366)], NOW)) == 1


def test_holds_beat_requests_and_periods() -> None:
    assert due(POLICY, [_tip(held=True, requested="web")], NOW) == []
    held_all = RetentionPolicy(POLICY.status_periods, POLICY.urgency_minimums, hold_all=True)
    assert due(held_all, [_tip(requested="sms", days=1000)], NOW) == []


def test_reporter_requests_need_the_feature_but_an_admins_do_not() -> None:
    off = RetentionPolicy(POLICY.status_periods, POLICY.urgency_minimums,
                          reporter_deletion=False)
    fresh = _tip(status="new", days=0, requested="web")
    assert [d.reason for d in due(POLICY, [fresh], NOW)] == ["reporter-request"]
    assert due(off, [fresh], NOW) == []
    assert [d.reason for d in due(off, [_tip(status="new", days=0, requested="cli")], NOW)] \
        == ["admin"]


async def test_a_reporters_request_waits_for_a_hold_to_be_released(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    async with opened(inst.root) as s:
        tip = await sms_tip(s, "please delete this later", "+15550001111")
        await s.db.write(lambda c: set_hold(c, tip.tip_id, "cli", True))
        assert await s.db.write(lambda c: request_deletion(c, tip.tip_id, "sms")) is True
        assert await s.db.write(lambda c: request_deletion(c, "tnosuchtip", "sms")) is False
        assert await retention_pass(s.config, s.db, s.keystore) == []
        assert await s.keystore.get(tip.tip_id) is not None
        await s.db.write(lambda c: set_hold(c, tip.tip_id, "cli", False))
        deleted = await retention_pass(s.config, s.db, s.keystore)
        assert [(d.tip_id, d.reason) for d in deleted] == [(tip.tip_id, "reporter-request")]
        # the thread is gone: the same number starts a new, unrelated tip
        again = await sms_tip(s, "hello again", "+15550001111")
        assert again.new_tip and again.tip_id != tip.tip_id
        audit = await s.db.fetchall(
            "SELECT action, detail FROM audit WHERE tip_id = ? ORDER BY id", (tip.tip_id,))
    actions = [(r[0], r[1]) for r in audit]
    assert ("tip.deletion_requested", "via=sms") in actions
    assert ("tip.hold", None) in actions and ("tip.release", None) in actions
    assert actions[-1] == ("tip.deleted",
                           "reason=reporter-request channel=sms messages=1 attachments=0")


async def test_the_global_hold_setting_stops_every_deletion(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    async with opened(inst.root, HOTLINE_RETENTION_HOLD="true") as s:
        tip = await web_tip(s, "old and closed")
        await age_tip(s, tip.tip_id, days=400, status="closed")
        await s.db.write(lambda c: request_deletion(c, tip.tip_id, "web"))
        assert await retention_pass(s.config, s.db, s.keystore) == []
        assert await s.keystore.get(tip.tip_id) is not None


async def test_a_reporter_deletes_their_report_from_the_follow_up_page(
        live: Live, browser: Browser) -> None:
    from tests.helpers.html import form_by_action, receipt_words

    _, html = await browser.report("please forget what I wrote", lang="es")
    words = receipt_words(html)
    _, page = await browser.get("/followup?lang=es")
    _, thread = await browser.submit(form_by_action(page, "/followup"),
                                     {"receipt": " ".join(words)})
    assert "Borrar mi reporte" in thread
    status, done = await browser.submit(form_by_action(thread, "/followup/delete"), {})
    assert status == 200 and "Esta conversación se borrará pronto" in done
    s = live.services
    for _ in range(100):  # the retention task was woken; wait for it
        if await s.db.fetchone("SELECT 1 FROM tips") is None:
            break
        await asyncio.sleep(0.05)
    assert await s.db.fetchone("SELECT 1 FROM tips") is None
    row = await s.db.fetchone("SELECT detail FROM audit WHERE action = 'tip.deleted'")
    assert row is not None and row[0].startswith("reason=reporter-request channel=web")
    # The receipt now finds nothing, like any unknown receipt.
    _, page = await browser.get("/followup")
    status, _ = await browser.submit(form_by_action(page, "/followup"),
                                     {"receipt": " ".join(words)})
    assert status == 404
