"""Who decides what goes: retention periods, reporters' requests, holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hotline.deletion import request_by_reporter
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


def test_a_reporters_request_is_due_only_when_pending_and_past_its_grace() -> None:
    def asked(state: str | None, due_in: float) -> TipFacts:
        return TipFacts("t1", "new", "normal", NOW, "sms", False, state,
                        NOW + timedelta(seconds=due_in))

    assert due(POLICY, [asked("pending", 60)], NOW) == []
    assert [d.reason for d in due(POLICY, [asked("pending", 0)], NOW)] == ["reporter-request"]
    assert due(POLICY, [asked("held", -DAY)], NOW) == []
    assert due(POLICY, [asked("cancelled", -DAY)], NOW) == []
    # Under way (the key may be gone): finished whatever holds it, except the global hold.
    under_way = TipFacts("t1", "new", "normal", NOW, "web", True, "done", NOW)
    assert [d.reason for d in due(POLICY, [under_way], NOW)] == ["reporter-request"]
    held_all = RetentionPolicy(POLICY.status_periods, POLICY.urgency_minimums, hold_all=True)
    assert due(held_all, [under_way], NOW) == []
    # A held or cancelled request does not stop the ordinary retention period.
    old = TipFacts("t1", "closed", "normal", NOW - timedelta(days=100), "sms", False, "held",
                   NOW - timedelta(days=99))
    assert [d.reason for d in due(POLICY, [old], NOW)] == ["retention"]


def test_reporter_requests_need_the_feature_but_an_admins_do_not() -> None:
    off = RetentionPolicy(POLICY.status_periods, POLICY.urgency_minimums,
                          reporter_deletion=False)
    fresh = _tip(status="new", days=0, requested="web")
    assert [d.reason for d in due(POLICY, [fresh], NOW)] == ["reporter-request"]
    assert due(off, [fresh], NOW) == []
    assert [d.reason for d in due(off, [_tip(status="new", days=0, requested="cli")], NOW)] \
        == ["admin"]


async def test_a_reporters_request_waits_for_its_grace_and_for_a_hold_to_be_released(
        tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    async with opened(inst.root) as s:
        tip = await sms_tip(s, "please delete this later", "+15550001111")
        grace = s.config["ops.deletion_grace"]
        assert grace == 72 * 3600
        await s.db.write(lambda c: set_hold(c, tip.tip_id, "cli", True))
        ask = dict(grace=grace, default_delay=300.0)
        assert await request_by_reporter(s.db, tip.tip_id, "sms", **ask) is True
        assert await request_by_reporter(s.db, tip.tip_id, "sms", **ask) is False  # a repeat
        assert await request_by_reporter(s.db, "tnosuchtip", "sms", **ask) is False
        later = datetime.now(UTC) + timedelta(seconds=grace + 60)
        assert await retention_pass(s.config, s.db, s.keystore) == []  # within the grace
        assert await retention_pass(s.config, s.db, s.keystore, None, later) == []  # held
        assert await s.keystore.get(tip.tip_id) is not None
        await s.db.write(lambda c: set_hold(c, tip.tip_id, "cli", False))
        deleted = await retention_pass(s.config, s.db, s.keystore, None, later)
        assert [(d.tip_id, d.reason) for d in deleted] == [(tip.tip_id, "reporter-request")]
        # the thread is gone: the same number starts a new, unrelated tip
        again = await sms_tip(s, "hello again", "+15550001111")
        assert again.new_tip and again.tip_id != tip.tip_id
        audit = await s.db.fetchall(
            "SELECT action, detail FROM audit WHERE tip_id = ? ORDER BY id", (tip.tip_id,))
    actions = [(r[0], r[1]) for r in audit]
    assert [a for a in actions if a[0] == "tip.deletion_requested"] == \
        [("tip.deletion_requested", f"via=sms effective_at={_stamp_after(actions, grace)}")]
    assert ("tip.hold", None) in actions and ("tip.release", None) in actions
    assert actions[-1] == ("tip.deleted",
                           "reason=reporter-request channel=sms messages=1 attachments=0")


def _stamp_after(actions: list[tuple[str, str]], grace: float) -> str:
    """The effective time the audit line names (checked against the grace period)."""
    detail = next(d for a, d in actions if a == "tip.deletion_requested")
    stamp = detail.split("effective_at=", 1)[1]
    assert datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) > \
        datetime.now(UTC) + timedelta(seconds=grace - 3600)
    return stamp


async def test_the_global_hold_setting_stops_every_deletion(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    async with opened(inst.root, HOTLINE_RETENTION_HOLD="true") as s:
        tip = await web_tip(s, "old and closed")
        await age_tip(s, tip.tip_id, days=400, status="closed")
        await s.db.write(lambda c: request_deletion(c, tip.tip_id, "cli"))
        assert await retention_pass(s.config, s.db, s.keystore) == []
        assert await s.keystore.get(tip.tip_id) is not None


async def test_a_reporter_deletes_their_report_from_the_follow_up_page_after_the_grace(
        live: Live, browser: Browser) -> None:
    """Before issue 12 this shredded the tip at once; now the same click waits 72 hours
    (tests/ops/test_deletion_grace.py has the page, the hold and the cancel)."""
    from tests.helpers.html import form_by_action, receipt_words

    _, html = await browser.report("please forget what I wrote", lang="es")
    words = receipt_words(html)
    _, page = await browser.get("/followup?lang=es")
    _, thread = await browser.submit(form_by_action(page, "/followup"),
                                     {"receipt": " ".join(words)})
    assert "Borrar mi reporte" in thread
    status, done = await browser.submit(form_by_action(thread, "/followup/delete"), {})
    assert status == 200 and "programada para borrarse en 3 días" in done
    s = live.services
    assert await s.db.fetchone("SELECT 1 FROM tips") is not None  # not at once
    later = datetime.now(UTC) + timedelta(hours=73)
    await retention_pass(s.config, s.db, s.keystore, s.metrics, later)
    assert await s.db.fetchone("SELECT 1 FROM tips") is None
    row = await s.db.fetchone("SELECT detail FROM audit WHERE action = 'tip.deleted'")
    assert row is not None and row[0].startswith("reason=reporter-request channel=web")
    # The receipt now finds nothing, like any unknown receipt.
    _, page = await browser.get("/followup")
    status, _ = await browser.submit(form_by_action(page, "/followup"),
                                     {"receipt": " ".join(words)})
    assert status == 404
