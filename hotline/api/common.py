"""What every API module's handlers share: the bearer-token check and the advocate it
found, the JSON body read once with its limits, its typed fields, and the tip row an
advocate may see. Here so the route modules import one small thing, not each other.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..domain import Role
from ..errors import BadRequest, Forbidden, NotFound, UnsupportedMediaType
from ..media_type import media_type
from ..services import SERVICES, Services
from ..store.inbox import TIP_COLUMNS
from .auth import Advocate

_REQ_ADVOCATE: web.RequestKey[Advocate] = web.RequestKey("advocate", Advocate)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def authed(handler: Handler, role: Role | None = None) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        s = request.app[SERVICES]
        advocate = await s.auth.advocate_for(request.headers.get("Authorization"))
        if role is Role.ADMIN and advocate.role is not Role.ADMIN:
            raise Forbidden("this needs the admin role")
        request[_REQ_ADVOCATE] = advocate
        return await handler(request)

    return wrapped


def current_advocate(request: web.Request) -> Advocate:
    return request[_REQ_ADVOCATE]


_PARSE_INLINE_BYTES = 64 * 1024


async def json_body(request: web.Request) -> dict[str, Any]:
    if media_type(request) != "application/json":
        raise UnsupportedMediaType("send application/json")
    body = await request.read()  # bounded per route (body_limits), after the token check
    try:
        # A large body (an upload of envelopes) is parsed off the event loop.
        data = (json.loads(body) if len(body) < _PARSE_INLINE_BYTES
                else await asyncio.to_thread(json.loads, body))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None
    if _SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(data):
        raise BadRequest("the body holds an unpaired surrogate (\\ud800-\\udfff): not text")
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


# JSON may escape half of a UTF-16 pair; Python reads that as a str no codec can
# encode, which would fail far from here (a MAC, an SQL bind). Only a body that
# holds such an escape is checked, so envelopes (base64) cost nothing more.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(data: Any) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadRequest(f"'{name}' is missing or not a {kind.__name__}")
    return value


def b64_field(data: dict[str, Any], name: str) -> bytes:
    value = field(data, name, str)
    try:  # a non-ASCII str is a ValueError, not a binascii.Error
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise BadRequest(f"'{name}' is not base64") from None


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


async def tip_row(s: Services, a: Advocate, tip_id: str) -> sqlite3.Row:
    row = await s.db.fetchone(
        f"SELECT {TIP_COLUMNS} FROM tips t"
        " JOIN tip_advocates ta ON ta.tip_id = t.id WHERE t.id = ? AND ta.advocate_id = ?",
        (tip_id, a.id))
    if row is None:  # the same answer for "no such tip" and "not yours"
        raise NotFound("no such tip, or it is not shared with you")
    return row
