"""Paging over HTTP: the page call's TwiML and key press, and the API views of paging.

``POST /twilio/page/{outbox}/call`` is the URL a page call fetches when the
advocate answers: it speaks the page (tip reference, urgency, channel — never
content) and gathers one key; ``…/ack`` receives the key, and "1"
acknowledges. ``/twilio/page/summary/{id}/call`` and ``…/ack`` do the same for
a summary page (several held pages as one), where "1" acknowledges every tip
in it. All are signed by Twilio like every webhook; the outbox id in
the path is covered by the signature, so it cannot be swapped.

``GET /api/tips/{tip}/pages`` is the tip's page and acknowledgement history for
advocates on the tip; ``GET /api/admin/oncall`` shows admins the rotation,
who is on call now and the escalation policy.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from aiohttp import web
from multidict import MultiDictProxy
from twilio.twiml.voice_response import VoiceResponse

from ..api.common import authed, current_advocate, json_body
from ..channels.sms import _twilio, verified_form
from ..domain import Role
from ..errors import BadRequest, NotFound
from ..logging import get_logger
from ..services import SERVICES
from .acknowledge import ack_by_call, ack_by_summary_call
from .admin import store_notifiers
from .directory import load_directory
from .escalation import Page, plan_from_dict
from .notifiers import PAGE_ACK_PATH, SUMMARY_ACK_PATH, Notice, PageNotice, SummaryNotice, spoken_text
from .oncall import shifts_between, who_is_on_call


def setup_paging(app: web.Application) -> None:
    app.router.add_post("/twilio/page/{outbox:[0-9]{1,12}}/call", page_call)
    app.router.add_post("/twilio/page/{outbox:[0-9]{1,12}}/ack", page_key)
    app.router.add_post("/twilio/page/summary/{summary:[0-9]{1,12}}/call", summary_call)
    app.router.add_post("/twilio/page/summary/{summary:[0-9]{1,12}}/ack", summary_key)
    app.router.add_get("/api/tips/{tip}/pages", authed(tip_pages))
    app.router.add_get("/api/admin/oncall", authed(admin_oncall, Role.ADMIN))
    app.router.add_get("/api/me/notifiers", authed(my_notifiers))
    app.router.add_put("/api/me/notifiers", authed(set_my_notifiers))


def _twiml(response: VoiceResponse) -> web.Response:
    return web.Response(text=str(response), content_type="text/xml")


async def _verified(request: web.Request) -> MultiDictProxy[str]:
    s = request.app[SERVICES]
    return await verified_form(request, s, _twilio(s))


async def _notice(request: web.Request, outbox_id: int) -> PageNotice | None:
    row = await request.app[SERVICES].db.fetchone(
        "SELECT o.key, o.level, e.plan, e.code, e.status FROM page_outbox o JOIN escalations e"
        " ON e.id = o.escalation_id WHERE o.id = ?", (outbox_id,))
    if row is None:
        return None
    plan = plan_from_dict(json.loads(row["plan"]))
    page = Page(plan.tip_ref, plan.channel, plan.urgency, plan.started_at, row["level"])
    return PageNotice(page, row["code"], outbox_id, row["key"])


def _gather(notice: Notice) -> VoiceResponse:
    r = VoiceResponse()
    action = (SUMMARY_ACK_PATH.format(summary_id=notice.summary_id)
              if isinstance(notice, SummaryNotice)
              else PAGE_ACK_PATH.format(outbox_id=notice.outbox_id))
    g = r.gather(num_digits=1, action=action, method="POST", timeout=8)
    g.say(spoken_text(notice))
    g.pause(length=1)
    g.say(spoken_text(notice))
    r.say("No key was pressed. The page stays open. Goodbye.")
    r.hangup()
    return r


async def page_call(request: web.Request) -> web.Response:
    await _verified(request)
    notice = await _notice(request, int(request.match_info["outbox"]))
    if notice is None:
        r = VoiceResponse()
        r.say("This page is no longer open. Goodbye.")
        r.hangup()
        return _twiml(r)
    return _twiml(_gather(notice))


async def page_key(request: web.Request) -> web.Response:
    form = await _verified(request)
    s = request.app[SERVICES]
    outbox_id = int(request.match_info["outbox"])
    r = VoiceResponse()
    if str(form.get("Digits", "")) == "1":
        ref = await ack_by_call(s.db, s.metrics, outbox_id)
        get_logger("hotline.paging").info("page.call_key", outbox=outbox_id, stored=ref is not None)
        r.say("Acknowledged. Thank you." if ref else "This page is no longer open.")
        r.hangup()
        return _twiml(r)
    notice = await _notice(request, outbox_id)
    if notice is None:
        r.say("This page is no longer open. Goodbye.")
        r.hangup()
        return _twiml(r)
    return _twiml(_gather(notice))


async def _summary_notice(request: web.Request, summary_id: int) -> SummaryNotice | None:
    db = request.app[SERVICES].db
    row = await db.fetchone("SELECT code, key FROM page_summaries WHERE id = ?", (summary_id,))
    if row is None:
        return None
    rows = await db.fetchall(
        "SELECT o.level, e.plan FROM page_outbox o JOIN escalations e ON e.id = o.escalation_id"
        " WHERE o.summary_id = ? AND e.status IN ('open', 'exhausted') ORDER BY o.id", (summary_id,))
    if not rows:
        return None
    pages = []
    for r in rows:
        plan = plan_from_dict(json.loads(r["plan"]))
        pages.append(Page(plan.tip_ref, plan.channel, plan.urgency, plan.started_at, r["level"]))
    pages.sort(key=lambda p: (-p.urgency.rank, p.opened_at))
    return SummaryNotice(tuple(pages), row["code"], summary_id, row["key"])


def _closed() -> web.Response:
    r = VoiceResponse()
    r.say("This page is no longer open. Goodbye.")
    r.hangup()
    return _twiml(r)


async def summary_call(request: web.Request) -> web.Response:
    await _verified(request)
    notice = await _summary_notice(request, int(request.match_info["summary"]))
    return _closed() if notice is None else _twiml(_gather(notice))


async def summary_key(request: web.Request) -> web.Response:
    form = await _verified(request)
    s = request.app[SERVICES]
    summary_id = int(request.match_info["summary"])
    if str(form.get("Digits", "")) == "1":
        refs = await ack_by_summary_call(s.db, s.metrics, summary_id)
        get_logger("hotline.paging").info("page.call_key", page=summary_id,
                                          count=len(refs) if refs else 0)
        r = VoiceResponse()
        r.say(f"Acknowledged {len(refs)} tips. Thank you." if refs else "This page is no longer open.")
        r.hangup()
        return _twiml(r)
    notice = await _summary_notice(request, summary_id)
    return _closed() if notice is None else _twiml(_gather(notice))


async def tip_pages(request: web.Request) -> web.Response:
    s, a = request.app[SERVICES], current_advocate(request)
    tip_id = request.match_info["tip"]
    tip = await s.db.fetchone(
        "SELECT t.acked_at, (SELECT name FROM advocates WHERE id = t.acked_by) AS acked_by FROM tips t"
        " JOIN tip_advocates ta ON ta.tip_id = t.id WHERE t.id = ? AND ta.advocate_id = ?",
        (tip_id, a.id))
    if tip is None:
        raise NotFound("no such tip, or it is not shared with you")
    rows = await s.db.fetchall(
        "SELECT e.id AS escalation, e.status AS escalation_status, e.opened_at, e.acked_at,"
        " e.acked_via, (SELECT name FROM advocates WHERE id = e.acked_by) AS acked_by,"
        " o.level, o.repeat, o.status, o.sent_via, o.sent_at, o.created_at, o.last_error,"
        " o.summary_id IS NOT NULL AS in_summary, o.fold,"
        " a.name AS advocate FROM escalations e LEFT JOIN page_outbox o ON o.escalation_id = e.id"
        " LEFT JOIN advocates a ON a.id = o.advocate_id WHERE e.tip_id = ? ORDER BY e.opened_at, o.id",
        (tip_id,))
    escalations: dict[str, dict[str, object]] = {}
    pages = []
    for r in rows:
        escalations.setdefault(r["escalation"], {
            "status": r["escalation_status"], "opened_at": r["opened_at"], "acked_at": r["acked_at"],
            "acked_by": r["acked_by"], "acked_via": r["acked_via"]})
        if r["level"] is not None:
            status = r["status"]
            if r["escalation_status"] == "acknowledged" and status == "sent":
                status = "acknowledged"
            pages.append({"step": r["level"], "repeat": r["repeat"], "advocate": r["advocate"],
                          "notifier": r["sent_via"], "status": status,
                          "at": r["sent_at"] or r["created_at"], "error": r["last_error"],
                          # held in a person's window, or sent inside a summary page
                          "coalesced": bool(r["in_summary"]) or r["fold"] == "held"})
    return web.json_response({"pages": pages, "escalations": list(escalations.values()),
                              "acked_at": tip["acked_at"], "acked_by": tip["acked_by"]})


async def admin_oncall(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    d = await load_directory(s.db)
    now = datetime.now(UTC)
    body: dict[str, object] = {"now": now.isoformat(), "on_call": list(d.on_call(now)),
                               "oncall_list": list(d.oncall_list), "rotation": None,
                               "escalation": None}
    if d.rotation is not None:
        current = who_is_on_call(d.rotation, now)
        body["rotation"] = {
            "name": d.rotation.name, "advocates": list(d.rotation.advocates),
            "timezone": str(d.rotation.tz), "handoff": d.rotation.handoff.isoformat("minutes"),
            "shift_seconds": d.rotation.shift_length.total_seconds(),
            "current": {"advocate": current.advocate, "until": current.shift_end.isoformat(),
                        "override": current.via_override},
            "upcoming": [{"advocate": sh.advocate, "start": sh.shift_start.isoformat(),
                          "end": sh.shift_end.isoformat()}
                         for sh in shifts_between(d.rotation, now, now + timedelta(days=7))[:14]],
        }
    policy = d.effective_policy(s.config["paging.default_delay"])
    body["escalation"] = {
        "configured": d.policy is not None, "repeat": policy.repeat,
        "levels": [{"targets": list(lvl.targets), "delay_seconds": lvl.delay.total_seconds()}
                   for lvl in policy.levels]}
    return web.json_response(body)


async def my_notifiers(request: web.Request) -> web.Response:
    """How I am paged, in order (each advocate chooses; their contacts are the admin's)."""
    s, a = request.app[SERVICES], current_advocate(request)
    d = await load_directory(s.db)
    person = d.by_id.get(a.id)
    chain = person.chain() if person is not None else ()
    return web.json_response({"custom": bool(person and person.notifiers),
                              "via": [{"kind": k, "target": t} for k, t in chain]})


async def set_my_notifiers(request: web.Request) -> web.Response:
    s, a = request.app[SERVICES], current_advocate(request)
    data = await json_body(request)
    via = data.get("via")
    if not isinstance(via, list) or not all(
            isinstance(v, dict) and isinstance(v.get("kind"), str)
            and isinstance(v.get("target", ""), str | type(None)) for v in via):
        raise BadRequest("'via' must be a list of {kind, target?} (kind: sms, call, email, webhook, console)")
    chain = [(v["kind"], v.get("target") or None) for v in via]
    await s.db.write(lambda conn: store_notifiers(conn, a.id, chain, actor=a.fingerprint))
    return await my_notifiers(request)
