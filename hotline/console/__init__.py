"""The advocate console: a browser app that decrypts only on the advocate's device.

The server's part is small and dumb on purpose: it serves fixed files, each
pinned by Subresource Integrity, under a strict Content Security Policy (no
inline script, ``connect-src 'self'``, nothing from other origins). It never
sees a key or a plaintext; the app talks to the same JSON API as the CLI.
"""

from __future__ import annotations

from aiohttp import web

from ..logging import get_logger
from .assets import Asset, ConsoleAssets, find_libsodium, missing_page

CONSOLE_CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' blob:",
    "media-src blob:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
])
ASSETS: web.AppKey[ConsoleAssets | None] = web.AppKey("console_assets", ConsoleAssets)


def setup_console(app: web.Application) -> None:
    """Add the console's routes and static files."""
    app[ASSETS] = _load()
    app.router.add_get("/console", shell)
    app.router.add_get("/console/", shell)
    app.router.add_get("/console/static/{name:.+}", static_file)
    app.router.add_get("/console/vendor/{name}", vendor_file)


def _load() -> ConsoleAssets | None:
    """The console's files, or None (then /console explains): never a reason to stop intake."""
    source = find_libsodium()
    if source is None:
        get_logger().warning("console.unavailable", reason="libsodium.js not installed (npm ci)")
        return None
    try:
        assets = ConsoleAssets.load(source.root)
    except (OSError, RuntimeError, KeyError) as e:
        get_logger().warning("console.unavailable", reason=type(e).__name__)
        return None
    get_logger().info("console.libsodium", kind=source.origin, path=str(source.root))
    return assets


def _send(request: web.Request, asset: Asset) -> web.Response:
    gz = "gzip" in request.headers.get("Accept-Encoding", "")
    resp = web.Response(body=asset.gzipped if gz else asset.body,
                        headers={"Content-Type": asset.content_type,
                                 "Content-Security-Policy": CONSOLE_CSP, "Vary": "Accept-Encoding"})
    if gz:
        resp.headers["Content-Encoding"] = "gzip"
    return resp


def _assets(request: web.Request) -> ConsoleAssets:
    assets = request.app[ASSETS]
    if assets is None:
        raise web.HTTPServiceUnavailable(text=missing_page().decode(), content_type="text/html")
    return assets


async def shell(request: web.Request) -> web.StreamResponse:
    if request.app[ASSETS] is None:  # a clear page, not the reporters' generic error page
        return web.Response(status=503, body=missing_page(), content_type="text/html",
                            headers={"Content-Security-Policy": CONSOLE_CSP})
    return _send(request, _assets(request).shell)


async def static_file(request: web.Request) -> web.StreamResponse:
    asset = _assets(request).static.get(request.match_info["name"])
    if asset is None:
        raise web.HTTPNotFound()
    return _send(request, asset)


async def vendor_file(request: web.Request) -> web.StreamResponse:
    asset = _assets(request).vendor.get(request.match_info["name"])
    if asset is None:
        raise web.HTTPNotFound()
    return _send(request, asset)
