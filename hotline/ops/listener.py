"""The operator's own listener: ``/metrics`` and ``/readyz``, off the public one.

Polling ``/metrics`` shows each report's arrival time, channel and urgency as
the counters move; a proxy rule that hides it is one mistake away (the onion
service reaches the app directly, past any proxy). So the public listener has
no such routes at all, and this second application, sharing the public one's
services, is bound to ``ops.host`` (loopback by default) on ``ops.port``.
A non-loopback bind needs ``ops.metrics_token`` (the settings check refuses it
otherwise), and the token, when set, is required here whatever the bind.
"""

from __future__ import annotations

from aiohttp import web

from ..errors import HotlineError
from ..logging import get_logger
from .routes import PUBLIC_APP, Handler, metrics, readyz


@web.middleware
async def _ops_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors here are for a monitoring system: JSON, one line, nothing about reports."""
    try:
        response = await handler(request)
    except HotlineError as e:
        get_logger("hotline.ops").info("ops.refused", path=request.path, status_code=e.http_status)
        response = web.json_response({"error": e.public_message}, status=e.http_status)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        response = web.json_response({"error": e.reason}, status=e.status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def make_ops_app(public: web.Application) -> web.Application:
    """The ops application for an already-built public application (same services)."""
    app = web.Application(middlewares=[_ops_errors], client_max_size=1024)
    app[PUBLIC_APP] = public
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/readyz", readyz)
    return app

