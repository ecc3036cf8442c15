"""The aiohttp application factory: routes, middleware, start-up and shutdown.

No module globals: everything lives in typed ``AppKey`` state opened in a
``cleanup_ctx``, so tests build as many independent apps as they like.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path

from aiohttp import web

from .api.setup import setup_api
from .body_limits import BodyLimits
from .channels.sms import setup_sms
from .channels.web import setup_web
from .config import load_config
from .console import setup_console
from .errors import HotlineError, PayloadTooLarge
from .logging import get_logger
from .ops.lifecycle import setup_ops
from .paging.routes import setup_paging
from .services import SERVICES, Services
from .voice.routes import add_routes as setup_voice
from .web import CONTENT_SECURITY_POLICY, RENDERER, STATIC_DIR, PageRenderer
from .web import messages as M

# SERVICES and RENDERER live beside what they hold (services.py, web/render.py); route
# modules import them from there, never from this factory, which imports the routes.
__all__ = ["RENDERER", "SERVICES", "make_app"]  # the keys re-exported for older imports


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# An advocate's upload is an envelope as large as a reporter's, base64 (4/3) in JSON.
ADVOCATE_OVERHEAD = 16 * 1024 * 1024


_EVERY_ANSWER = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
_NOT_KEPT = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Set on every answer (one ``update`` each: the event loop pays this on every post)."""
    h = response.headers
    h.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    h.update(_EVERY_ANSWER)
    path = request.path
    if path.startswith("/static/"):
        h["Cache-Control"] = "public, max-age=3600"
    elif path == "/favicon.ico":  # no icon, and no asking again on every page
        h["Cache-Control"] = "public, max-age=604800"
    else:
        h.update(_NOT_KEPT)
    if request.app[SERVICES].config["service.public_url"].startswith("https://"):
        h["Strict-Transport-Security"] = "max-age=63072000"


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/twilio/")


def error_response(request: web.Request, status: int, message: str) -> web.Response:
    if _is_api(request) or request.path == "/healthz":
        return web.json_response({"error": message}, status=status)
    renderer = request.app[RENDERER]
    lang = renderer.negotiate(request.headers.get("Accept-Language"), request.query.get("lang"))
    title, default = _PAGE_ERRORS.get(status, (M.BAD_REQUEST_TITLE, M.BAD_REQUEST))
    if message not in M.ALL:  # only catalogued text reaches a reporter, in their language
        message = default
    html = renderer.render("error.html", lang, status=status, title=renderer.gettext(lang, title),
                           message=renderer.gettext(lang, message))
    return web.Response(text=html, status=status, content_type="text/html")


_PAGE_ERRORS = {
    404: (M.NOT_FOUND_TITLE, M.NOT_FOUND),
    405: (M.NOT_FOUND_TITLE, M.NOT_FOUND),
    413: (M.TOO_LARGE_TITLE, M.TOO_LARGE),
    429: (M.BUSY_TITLE, M.TOO_MANY_TRIES),
    500: (M.SERVER_ERROR_TITLE, M.SERVER_ERROR),
    503: (M.BUSY_TITLE, M.BUSY),
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes one clear status and message, logged without content."""
    log = get_logger("hotline.http")
    try:
        response = await handler(request)
    except HotlineError as e:
        log.info("request.refused", route=_route(request), method=request.method,
                 status_code=e.http_status, error=type(e).__name__)
        response = error_response(request, e.http_status, e.public_message)
    except web.HTTPRequestEntityTooLarge:
        response = error_response(request, 413, PayloadTooLarge().public_message)
    except web.HTTPException as e:
        if e.status >= 400:
            log.info("request.refused", route=_route(request), method=request.method,
                     status_code=e.status, error=type(e).__name__)
            response = error_response(request, e.status, e.reason)
        else:
            response = e
    except Exception:
        log.error("request.failed", route=_route(request), method=request.method, exc_info=True)
        response = error_response(request, 500, M.SERVER_ERROR)
    _security_headers(request, response)
    return response


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"


async def favicon(request: web.Request) -> web.Response:
    """Browsers ask every page for one: no icon (an icon would name or mark the service in the
    tab and history), kept for a week, and no 404 in the console or the log."""
    return web.Response(status=204)


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    ok = await services.db.ping()
    body = {"status": "ok" if ok else "unavailable",
            "rules": services.rules.current.version, "instance": services.instance_id}
    return web.Response(text=json.dumps(body), status=200 if ok else 503,
                        content_type="application/json")


@contextlib.contextmanager
def _start_up_heap_frozen() -> Iterator[None]:
    """Leave what start-up built (rule packs, the second reader's tables, templates, the
    directory) out of the cyclic garbage collector's full passes while the service runs.

    Those objects live as long as the process, yet every full collection walked all of them
    (~80,000 objects, ~16 ms on the event loop, a few times a minute under load; bench/RESULTS.md,
    the web path, 2026-12-04). ``gc.freeze`` moves them to a generation no pass visits; objects made
    while serving are collected as before. ``gc.unfreeze`` at shutdown gives them back, so a
    process that starts and stops many services (the tests) keeps nothing alive for good.
    No collection first: start-up leaves no cyclic garbage to freeze (measured: a full pass
    right after it frees 0 objects), and a pass would cost every start ~20 ms.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def make_app(instance_dir: Path, env: Mapping[str, str] | None = None,
             services: Services | None = None) -> web.Application:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        opened = services or await Services.open(config, env)
        app[SERVICES] = opened
        cfg = opened.config
        app[RENDERER] = PageRenderer(
            site_title=cfg["organisation.site_title"], org_name=cfg["organisation.name"],
            emergency_number=cfg["organisation.emergency_number"],
            quick_exit_url=cfg["organisation.quick_exit_url"],
        )
        get_logger().info("service.ready", instance=opened.instance_id,
                          rules=opened.rules.current.version)
        with _start_up_heap_frozen():
            yield
        await opened.close()  # the writer finishes every queued commit first
        get_logger().info("service.stopped")

    config = load_config(instance_dir, env)
    max_body = config["web.max_attachments"] * config["web.max_attachment_size"] + 1024 * 1024
    limits = BodyLimits(reporter_upload=max_body, advocate_upload=max_body + ADVOCATE_OVERHEAD)
    app = web.Application(middlewares=[error_middleware, limits.middleware()],
                          client_max_size=max(limits.reporter_upload, limits.advocate_upload))
    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/favicon.ico", favicon)
    setup_web(app)
    setup_sms(app)
    setup_voice(app)
    setup_api(app)
    setup_paging(app)
    setup_console(app)
    setup_ops(app)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
    return app

