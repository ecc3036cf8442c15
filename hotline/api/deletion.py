"""A reporter's deletion request, as advocates on the tip see and answer it.

``GET /api/tips/{tip}/deletion`` is the request's state (also part of
``GET /api/tips/{tip}`` as ``deletion``); ``POST …/deletion/hold`` keeps the
tip until released, ``POST …/deletion/release`` lets the request run again
(due at its original time). Only advocates on the tip, like every tip route;
each hold and release is audited under the advocate's fingerprint.
Metadata only: state, times, how it was asked, who holds it.
"""

from __future__ import annotations

from aiohttp import web

from ..deletion import request_state, set_request_hold
from ..errors import NotFound
from ..ops.routes import OPS_RUNTIME
from ..services import SERVICES
from .common import authed, current_advocate, tip_row


def setup_deletion(app: web.Application) -> None:
    app.router.add_get("/api/tips/{tip}/deletion", authed(show))
    app.router.add_post("/api/tips/{tip}/deletion/hold", authed(hold))
    app.router.add_post("/api/tips/{tip}/deletion/release", authed(release))


async def show(request: web.Request) -> web.Response:
    s, a = request.app[SERVICES], current_advocate(request)
    tip_id = request.match_info["tip"]
    await tip_row(s, a, tip_id)
    state = await request_state(s.db, tip_id)
    if state is None:
        raise NotFound("no deletion has been requested for this tip")
    return web.json_response(state.as_json())


async def _set(request: web.Request, held: bool) -> web.Response:
    s, a = request.app[SERVICES], current_advocate(request)
    tip_id = request.match_info["tip"]
    await tip_row(s, a, tip_id)
    changed = await s.db.write(
        lambda conn: set_request_hold(conn, tip_id, a.id, a.fingerprint, held))
    runtime = request.app.get(OPS_RUNTIME)
    if changed and not held and runtime is not None:
        runtime.wake()  # released past its due time: the next pass runs it now
    state = await request_state(s.db, tip_id)
    if state is None:  # executed between the write and this read
        raise NotFound("this tip has been deleted")
    return web.json_response({**state.as_json(), "changed": changed})


async def hold(request: web.Request) -> web.Response:
    return await _set(request, True)


async def release(request: web.Request) -> web.Response:
    return await _set(request, False)
