"""What a summary page says, in every notifier's form: counts, urgencies and references
only; short enough for one SMS however many tips it carries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from hotline.domain import new_tip_ref
from hotline.paging.escalation import Page, TipChannel, TipRef
from hotline.paging.notifiers import SummaryNotice, sms_text, spoken_text, webhook_body
from triage_rules import Urgency

T0 = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


def _summary(count: int) -> SummaryNotice:
    pages = tuple(Page(TipRef(new_tip_ref()), TipChannel.SMS,
                       Urgency.CRITICAL if i % 4 == 0 else Urgency.HIGH,
                       T0 + timedelta(seconds=i), 1) for i in range(count))
    ordered = tuple(sorted(pages, key=lambda p: (-p.urgency.rank, p.opened_at)))
    return SummaryNotice(ordered, "482113", 7, "summary:1:42")


@pytest.mark.parametrize("count", [1, 5, 6, 6000])
def test_the_sms_names_five_and_counts_the_rest(count: int) -> None:
    n = _summary(count)
    text = sms_text(n)
    assert len(text) <= 160
    assert text.startswith(f"Hotline: {count} more pages (")
    assert all(ref in text for ref in n.refs[:5]) and not any(ref in text for ref in n.refs[5:])
    assert (f"and {count - 5} more" in text) == (count > 5)
    assert text.endswith(f"Reply 482113 to acknowledge all {count}.")
    critical = (count + 3) // 4
    assert f"{critical} critical" in text
    assert "critical" in spoken_text(n) and "Press 1" in spoken_text(n)


def test_the_webhook_lists_every_tip_with_closed_fields_only() -> None:
    n = _summary(12)
    doc = json.loads(webhook_body(n))
    assert doc["type"] == "hotline.page_summary" and doc["count"] == 12
    assert [t["tip_ref"] for t in doc["tips"]] == list(n.refs)
    assert {k for t in doc["tips"] for k in t} == {"tip_ref", "channel", "urgency", "opened_at", "level"}
    assert doc["idempotency_key"] == "summary:1:42" and doc["ack_code"] == "482113"


def test_a_summary_is_made_of_pages_only() -> None:
    with pytest.raises(TypeError):
        SummaryNotice((), "1", 1, "k")
    with pytest.raises(TypeError):
        SummaryNotice(("free text",), "1", 1, "k")  # type: ignore[arg-type]
