"""Pages and summary pages claimed with a lease, and outcomes written only by the holder.

Any number of front ends run a page worker on one database. A worker claims
due rows (``hotline.store.leases``) in one writer job, sends after that
commit, and writes the outcome — sent, retry later, given up — only while the
row is still leased to it. A worker that dies leaves its claims to the others
once ``cluster.lease`` has passed.

Just before a notification is handed to its notifier, ``sending_since`` is
written (and the lease renewed). A claim that is taken over with it set was
in flight when its holder vanished: it may have been delivered already, and
it is sent again (a page twice rather than none; the webhook and e-mail
notifiers repeat their idempotency key, Twilio's REST API has none). Rows
claimed but never started are taken over without that doubt.

Everything here runs on the writer thread inside the caller's transaction.
``table`` is always one of the two constants below, the only name formatted
into SQL (hence the ``noqa: S608``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store.leases import Connection, claim

OUTBOX, SUMMARIES = "page_outbox", "page_summaries"


@dataclass(frozen=True)
class Claimed:
    """One notification to one person, leased to this worker: a page or a summary page."""

    table: str  # OUTBOX or SUMMARIES
    id: int
    key: str
    advocate_id: int
    notifier_index: int
    attempt: int
    level: int  # 0 for a summary
    code: str
    plan: str | None  # a page's escalation plan (JSON); None for a summary
    maybe_sent: bool  # the previous holder vanished while sending it


def claim_due(conn: Connection, kind: str, *, owner: str, now: float, lease: float,
              limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due pages and summaries to ``owner`` (pages first)."""
    pages = claim(conn, kind, table=OUTBOX,
                  due="status = 'pending' AND fold = 'direct' AND next_attempt <= ?", params=(now,),
                  order="next_attempt, id", owner=owner, now=now, lease=lease, limit=limit,
                  returning="id, key, escalation_id, advocate_id, level, notifier_index, attempt,"
                            " sending_since")
    escalations: dict[str, tuple[str, str]] = {}
    for eid in sorted({str(p["escalation_id"]) for p in pages}):
        plan, code = conn.execute("SELECT plan, code FROM escalations WHERE id = ?",
                                  (eid,)).fetchone()
        escalations[eid] = (str(plan), str(code))
    out = [Claimed(OUTBOX, int(p["id"]), str(p["key"]), int(p["advocate_id"]),
                   int(p["notifier_index"]), int(p["attempt"]), int(p["level"]),
                   escalations[str(p["escalation_id"])][1], escalations[str(p["escalation_id"])][0],
                   p["sending_since"] is not None) for p in pages]
    summaries = claim(conn, kind, table=SUMMARIES, due="status = 'pending' AND next_attempt <= ?",
                      params=(now,), order="next_attempt, id", owner=owner, now=now, lease=lease,
                      limit=limit - len(out),
                      returning="id, key, advocate_id, code, notifier_index, attempt, sending_since")
    out += [Claimed(SUMMARIES, int(s["id"]), str(s["key"]), int(s["advocate_id"]),
                    int(s["notifier_index"]), int(s["attempt"]), 0, str(s["code"]), None,
                    s["sending_since"] is not None) for s in summaries]
    return out


_RELEASE = "lease_owner = NULL, lease_until = NULL, sending_since = NULL"


def mark_sending(conn: Connection, c: Claimed, *, owner: str, now: float, lease: float) -> bool:
    """Record that the notifier is about to be called, and renew the lease for the call.

    False: the row is no longer ours (taken over) or no longer pending
    (acknowledged meanwhile): do not send."""
    cur = conn.execute(
        f"UPDATE {c.table} SET sending_since = ?, lease_until = ?"  # noqa: S608
        " WHERE id = ? AND lease_owner = ? AND status = 'pending'", (now, now + lease, c.id, owner))
    return bool(cur.rowcount == 1)


def renew(conn: Connection, c: Claimed, *, owner: str, until: float) -> bool:
    """Extend the lease while the notifier is still at work."""
    cur = conn.execute(f"UPDATE {c.table} SET lease_until = ? WHERE id = ?"  # noqa: S608
                       " AND lease_owner = ?", (until, c.id, owner))
    return bool(cur.rowcount == 1)


def record_sent(conn: Connection, c: Claimed, *, owner: str, via: str, stamp: str) -> bool:
    """The notifier accepted it. False if the claim was lost meanwhile (nothing written)."""
    cur = conn.execute(
        f"UPDATE {c.table} SET status = CASE status WHEN 'pending' THEN 'sent' ELSE status END,"  # noqa: S608
        f" sent_via = ?, sent_at = ?, last_error = NULL, {_RELEASE}"
        " WHERE id = ? AND lease_owner = ?", (via, stamp, c.id, owner))
    if cur.rowcount != 1:
        return False
    if c.table == SUMMARIES:  # every page it carried went out with it
        conn.execute("UPDATE page_outbox SET status = 'sent', sent_via = ?, sent_at = ?,"
                     " last_error = NULL WHERE summary_id = ? AND status = 'pending'",
                     (via, stamp, c.id))
    return True


def record_retry(conn: Connection, c: Claimed, *, owner: str, notifier_index: int, attempt: int,
                 at: float, error: str) -> bool:
    """A failed attempt: try again at ``at`` (any front end may). False if the claim was lost."""
    cur = conn.execute(
        f"UPDATE {c.table} SET notifier_index = ?, attempt = ?, next_attempt = ?,"  # noqa: S608
        f" last_error = ?, {_RELEASE} WHERE id = ? AND status = 'pending' AND lease_owner = ?",
        (notifier_index, attempt, at, error, c.id, owner))
    return bool(cur.rowcount == 1)


def record_given_up(conn: Connection, c: Claimed, *, owner: str, reason: str, stamp: str) -> bool:
    """No notifier left: the page (or the summary and every page in it) failed, audited per tip."""
    cur = conn.execute(
        f"UPDATE {c.table} SET status = 'failed', last_error = ?, {_RELEASE}"  # noqa: S608
        " WHERE id = ? AND status = 'pending' AND lease_owner = ?", (reason, c.id, owner))
    if cur.rowcount != 1:
        return False
    which = ("o.summary_id = ? AND o.status = 'pending'" if c.table == SUMMARIES
             else "o.id = ?")
    conn.execute("INSERT INTO audit (at, actor, action, tip_id, detail) SELECT ?, 'paging',"  # noqa: S608
                 " 'page.failed', e.tip_id, ? FROM page_outbox o JOIN escalations e"
                 f" ON e.id = o.escalation_id WHERE {which}", (stamp, f"reason={reason}", c.id))
    if c.table == SUMMARIES:
        conn.execute("UPDATE page_outbox SET status = 'failed', last_error = ?"
                     " WHERE summary_id = ? AND status = 'pending'", (reason, c.id))
    return True


def cancel_summary(conn: Connection, c: Claimed, *, owner: str) -> bool:
    """A summary whose every page was acknowledged while it waited is not sent."""
    cur = conn.execute(
        f"UPDATE page_summaries SET status = 'cancelled', {_RELEASE}"  # noqa: S608
        " WHERE id = ? AND status = 'pending' AND lease_owner = ?", (c.id, owner))
    return bool(cur.rowcount == 1)

