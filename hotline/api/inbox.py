"""``GET /api/tips``: the advocate's inbox, a page at a time, filtered.

Query parameters (all optional):

- ``limit``: tips per page, 1 to ``MAX_LIMIT`` (default ``DEFAULT_LIMIT``);
- ``after``: the ``next`` cursor of the previous page (opaque to clients);
- ``status``, ``urgency``, ``channel``: one value or several, comma-separated;
- ``ref``: one short reference (``K7D-93M``), for "which tip is this page about".

The answer is ``{"tips": [...], "next": cursor-or-null}``. Why pages: with
10,000 tips the whole list was ~5 MB of JSON and several seconds of SQL on
every console poll (bench/RESULTS.md, "Inbox at 10,000 tips").
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from aiohttp import web

from ..domain import Channel, Status, Urgency
from ..errors import BadRequest
from ..services import SERVICES
from ..store.inbox import InboxPlace, InboxQuery, inbox_page

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

_TIP_KEYS = ("id", "ref", "channel", "urgency", "urgency_source", "status", "created_at",
             "updated_at", "acked_at", "message_count", "acked_by")
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_TIP_ID = re.compile(r"t[a-z2-7]{26}")
_REF = re.compile(r"[0-9A-Z]{3}-[0-9A-Z]{3}")


def encode_cursor(place: InboxPlace) -> str:
    raw = f"{place.rank}|{place.created_at}|{place.tip_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> InboxPlace:
    bad = BadRequest("'after' is not a cursor this server gave out")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise bad from None
    parts = raw.split("|")
    if (len(parts) != 3 or parts[0] not in ("0", "1", "2", "3")
            or not _STAMP.fullmatch(parts[1]) or not _TIP_ID.fullmatch(parts[2])):
        raise bad
    return InboxPlace(int(parts[0]), parts[1], parts[2])


def _choices(request: web.Request, name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return ()
    values = tuple(dict.fromkeys(v.strip().lower() for v in raw.split(",")))
    wrong = [v for v in values if v not in allowed]
    if wrong:
        raise BadRequest(f"'{name}' must be one or more of {', '.join(allowed)} "
                         f"(comma-separated); got {wrong[0][:20]!r}")
    return values


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:  # not '²'
        raise BadRequest(f"'limit' must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def inbox_query(request: web.Request, advocate_id: int, fingerprint: str) -> InboxQuery:
    """The request's paging and filters, each checked, as a store query."""
    after = request.query.get("after")
    ref = request.query.get("ref")
    if ref is not None and not _REF.fullmatch(ref.upper()):
        raise BadRequest("'ref' is a short reference such as K7D-93M")
    return InboxQuery(
        advocate_id=advocate_id, fingerprint=fingerprint, limit=_limit(request),
        after=decode_cursor(after) if after else None,
        statuses=_choices(request, "status", tuple(s.value for s in Status)),
        urgencies=_choices(request, "urgency", tuple(u.value for u in Urgency)),
        channels=_choices(request, "channel", tuple(c.value for c in Channel)),
        ref=ref.upper() if ref is not None else None)


async def list_tips(request: web.Request, advocate_id: int, fingerprint: str) -> web.Response:
    query = inbox_query(request, advocate_id, fingerprint)
    page = await inbox_page(request.app[SERVICES].db, query)
    tips: list[dict[str, Any]] = [{**{k: r[k] for k in _TIP_KEYS}, "unread": bool(r["unread"])}
                                  for r in page.rows]
    return web.json_response({"tips": tips,
                              "next": encode_cursor(page.next) if page.next else None})
