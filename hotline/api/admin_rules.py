"""Admin API for the console: the live rule set's version and the rules feedback report.

Both carry rule ids, urgencies and counts only (the ``rule_feedback`` table
never holds a tip id or a word of content), so administrators can tune rules
without reading any report — the same report as ``hotline rules report``.
"""

from __future__ import annotations

from aiohttp import web

from triage_rules import Urgency
from triage_rules.compare import FeedbackRecord, feedback_report

from ..domain import Role
from ..services import SERVICES
from .common import authed


def setup_admin_rules(app: web.Application) -> None:
    app.router.add_get("/api/admin/rules", authed(rules_report, Role.ADMIN))


async def rules_report(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    rows = await s.db.fetchall(
        "SELECT rule_ids, rules_urgency, advocate_urgency FROM rule_feedback ORDER BY id")
    records = [FeedbackRecord(tuple(r for r in row["rule_ids"].split(",") if r),
                              Urgency.parse(row["rules_urgency"]),
                              Urgency.parse(row["advocate_urgency"])) for row in rows]
    ruleset = s.rules.current
    return web.json_response({"version": ruleset.version,
                              "report": feedback_report(records, ruleset).to_json()})
