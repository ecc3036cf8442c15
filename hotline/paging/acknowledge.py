"""Acknowledgement from outside the API: a page SMS reply and a key press on a page call.

Both run ``record_ack`` in one transaction and count it; neither ever becomes
a tip. An SMS reply counts only when it comes from the phone number of an
active advocate who was paged for that escalation and carries its open code,
so a reporter texting four digits is still just a reporter. Caller ID can be
spoofed, so wrong codes are counted (in the audit log) per advocate: after
five in an hour, SMS acknowledgement stops for that number and says where else
to acknowledge.

A summary page (several held pages as one, hotline.paging.coalesce) has its
own code and call: answering it acknowledges **every tip it carries** that is
still unacknowledged. The advocate chose to take the batch; each tip stays in
their inbox, and its acknowledgement is recorded like any other (via
``sms-summary`` / ``call-summary``). Each tip in it can also be acknowledged
alone, by its own code or ``hotline ack REF``.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

from ..ops.metrics import Metrics
from ..store import queries as q
from ..store.seam import Store
from .ack import record_ack
from .notifiers import SUMMARY_REFS

WRONG_CODE_LIMIT = 5  # wrong codes per advocate number…
WRONG_CODE_WINDOW = 3600  # …per hour, before SMS acknowledgement stops for that number
_CODE_REPLY = re.compile(r"\s*(?:ack\s*)?(\d{4}|\d{6})\s*[.!]?\s*", re.IGNORECASE)


def code_in(body: str) -> str | None:
    m = _CODE_REPLY.fullmatch(body)
    return m.group(1) if m else None


async def advocate_by_phone(db: Store, phone: str) -> sqlite3.Row | None:
    return await db.fetchone("SELECT id, fingerprint FROM advocates WHERE phone = ? AND active = 1",
                             (phone,))


def _observe(metrics: Metrics | None, via: str, waits: list[float]) -> None:
    if metrics is None or not waits:
        return
    metrics.pages_acknowledged.labels(via).inc()
    for w in waits:
        metrics.time_to_ack.observe(w)


async def ack_by_sms(db: Store, metrics: Metrics | None, phone: str, body: str) -> str | None:
    """The TwiML reply text if this SMS is an advocate answering a page; None if it is not."""
    code = code_in(body)
    if code is None:
        return None
    advocate = await advocate_by_phone(db, phone)
    if advocate is None:
        return None
    since = q.utc_now_text(datetime.now(UTC) - timedelta(seconds=WRONG_CODE_WINDOW))
    # Count, look up and record a refusal in one writer job: parallel guesses
    # cannot all pass the count before any of them is recorded.
    verdict = await db.write(lambda conn: _check_code(conn, advocate, code, since))
    if verdict == "locked":
        # Caller ID can be spoofed: a stream of guesses "from" an advocate must not
        # find the code that silences a page.
        return "Too many wrong codes. Acknowledge in the console or with 'hotline ack'."
    if verdict == "wrong":
        return f"No open page of yours has code {code}. It may already be acknowledged."
    if isinstance(verdict, int):
        refs = await ack_summary(db, metrics, verdict, advocate["id"], advocate["fingerprint"],
                                 via="sms-summary")
        if not refs:
            return "Every tip in that page is already acknowledged."
        named = ", ".join(refs[:SUMMARY_REFS])
        more = f" and {len(refs) - SUMMARY_REFS} more" if len(refs) > SUMMARY_REFS else ""
        return f"Acknowledged {len(refs)} tips: {named}{more}. Thank you."
    assert not isinstance(verdict, str)  # the escalation row (sqlite3.Row or PgRow)
    row = verdict
    waits = await db.write(lambda conn: record_ack(conn, row["tip_id"], advocate["id"],
                                                   actor=advocate["fingerprint"], via="sms"))
    _observe(metrics, "sms", waits)
    return f"Acknowledged tip {row['ref']}. Thank you."


def _check_code(conn: sqlite3.Connection, advocate: sqlite3.Row, code: str,
                since: str) -> str | int | sqlite3.Row:
    """On the writer: "locked", "wrong" (refusal recorded), a summary id, or the escalation row."""
    refused = conn.execute(
        "SELECT COUNT(*) FROM audit WHERE actor = ? AND action = 'page.sms_ack_refused' AND at > ?",
        (advocate["fingerprint"], since)).fetchone()
    if refused[0] >= WRONG_CODE_LIMIT:
        return "locked"
    by_name = conn.cursor()
    by_name.row_factory = sqlite3.Row
    row: sqlite3.Row | None = by_name.execute(
        "SELECT e.tip_id, t.ref FROM escalations e JOIN tips t ON t.id = e.tip_id"
        " WHERE e.code = ? AND e.status IN ('open', 'exhausted') AND EXISTS (SELECT 1 FROM"
        " page_outbox o WHERE o.escalation_id = e.id AND o.advocate_id = ?)"
        " ORDER BY e.status = 'open' DESC, e.opened_at DESC LIMIT 1",
        (code, advocate["id"])).fetchone()
    if row is not None:
        return row
    summary = conn.execute(
        "SELECT id FROM page_summaries WHERE code = ? AND advocate_id = ? AND status IN"
        " ('pending', 'sent') ORDER BY id DESC LIMIT 1", (code, advocate["id"])).fetchone()
    if summary is not None:
        return int(summary[0])
    q.audit(conn, advocate["fingerprint"], "page.sms_ack_refused")
    return "wrong"


async def ack_by_call(db: Store, metrics: Metrics | None, outbox_id: int) -> str | None:
    """Acknowledge the escalation a page call belongs to; its tip reference, or None if gone."""
    row = await db.fetchone(
        "SELECT e.tip_id, t.ref, a.id AS advocate_id, a.fingerprint FROM page_outbox o"
        " JOIN escalations e ON e.id = o.escalation_id JOIN tips t ON t.id = e.tip_id"
        " JOIN advocates a ON a.id = o.advocate_id WHERE o.id = ? AND a.active = 1", (outbox_id,))
    if row is None:
        return None
    waits = await db.write(lambda conn: record_ack(conn, row["tip_id"], row["advocate_id"],
                                                   actor=row["fingerprint"], via="call"))
    _observe(metrics, "call", waits)
    return str(row["ref"])


async def ack_by_api(db: Store, metrics: Metrics | None, tip_id: str, advocate_id: int,
                     actor: str) -> None:
    waits = await db.write(lambda conn: record_ack(conn, tip_id, advocate_id, actor=actor, via="api"))
    _observe(metrics, "api", waits)


async def ack_summary(db: Store, metrics: Metrics | None, summary_id: int, advocate_id: int,
                      actor: str, *, via: str) -> list[str]:
    """Acknowledge every still-open tip a summary page carried; their references."""
    def store(conn: sqlite3.Connection) -> tuple[list[str], list[float]]:
        tips = conn.execute(
            "SELECT DISTINCT e.tip_id, t.ref FROM page_outbox o JOIN escalations e"
            " ON e.id = o.escalation_id JOIN tips t ON t.id = e.tip_id WHERE o.summary_id = ?"
            " AND e.status IN ('open', 'exhausted') ORDER BY t.ref", (summary_id,)).fetchall()
        waits: list[float] = []
        for tip_id, _ in tips:
            waits += record_ack(conn, tip_id, advocate_id, actor=actor, via=via)
        return [ref for _, ref in tips], waits

    refs, waits = await db.write(store)
    _observe(metrics, via, waits)
    return refs


async def ack_by_summary_call(db: Store, metrics: Metrics | None,
                              summary_id: int) -> list[str] | None:
    """Key 1 on a summary page call: its tips' references, or None if the summary is gone."""
    row = await db.fetchone(
        "SELECT a.id, a.fingerprint FROM page_summaries s JOIN advocates a ON a.id = s.advocate_id"
        " WHERE s.id = ? AND a.active = 1", (summary_id,))
    if row is None:
        return None
    return await ack_summary(db, metrics, summary_id, row["id"], row["fingerprint"],
                             via="call-summary")
