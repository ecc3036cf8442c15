"""``/metrics`` (Prometheus text) and ``/readyz`` (what is wrong, if anything).

Both are for the operator's monitoring, not the public: they are served only
by the ops listener (``listener.py``, loopback by default), never by the
public one, and ``ops.metrics_token`` can require a bearer token. Tip counts
are refreshed from the database at scrape time, labelled only by channel,
urgency and status (closed sets), never by anything a tip says or is.
"""

from __future__ import annotations

import hmac
import shutil
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..errors import Unauthorized
from ..services import SERVICES, Services
from .runtime import OpsRuntime

OPS_RUNTIME: web.AppKey[OpsRuntime] = web.AppKey("ops_runtime", OpsRuntime)
# The ops application holds the public one, whose services and runtime it reports on.
PUBLIC_APP: web.AppKey[web.Application] = web.AppKey("public_app", web.Application)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CHANNELS = ("web", "sms", "voice", "whatsapp")
_URGENCIES = ("low", "normal", "high", "critical")
_STATUSES = ("new", "acknowledged", "in_progress", "closed")


def _public(request: web.Request) -> web.Application:
    return request.app[PUBLIC_APP]


def _services(request: web.Request) -> Services:
    return _public(request)[SERVICES]


def _authorise(request: web.Request, s: Services) -> None:
    token = s.config["ops.metrics_token"]
    if not token:
        return
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise Unauthorized("a metrics token is required")


async def refresh_from_db(s: Services) -> None:
    """Aggregates the database knows better than any counter (they survive restarts)."""
    rows = await s.db.fetchall(
        "SELECT channel, urgency, status, COUNT(*) FROM tips GROUP BY channel, urgency, status")
    counts = {(r[0], r[1], r[2]): int(r[3]) for r in rows}
    for ch in _CHANNELS:
        for u in _URGENCIES:
            for st in _STATUSES:
                s.metrics.tips.labels(ch, u, st).set(counts.get((ch, u, st), 0))
    held = await s.db.fetchone("SELECT COUNT(*) FROM retention_holds")
    pending = await s.db.fetchone(
        "SELECT COUNT(*) FROM deletion_requests WHERE state IN ('pending', 'held')")
    s.metrics.tips_held.set(int(held[0]) if held else 0)
    s.metrics.deletion_requests_pending.set(int(pending[0]) if pending else 0)


async def metrics(request: web.Request) -> web.Response:
    s = _services(request)
    _authorise(request, s)
    await refresh_from_db(s)
    body = generate_latest(s.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def readiness_problems(s: Services, runtime: OpsRuntime | None) -> list[str]:
    """One short line per thing that is wrong; empty when ready to take reports."""
    problems = []
    if not await s.db.ping():
        problems.append("database: not answering")
    if not s.db.writer.alive():
        problems.append("database: the writer has stopped")
    if not await s.keystore.ping():
        problems.append("key store: not answering")
    if s.keystore.last_rotation_error is not None:  # shredded tips stay openable from copies
        problems.append(f"key store: the last epoch rotation failed "
                        f"({s.keystore.last_rotation_error})")
    free = shutil.disk_usage(s.paths.root).free
    if free < s.config["ops.min_free_disk"]:
        problems.append(f"disk: only {free // 1_000_000} MB free in the instance folder")
    depth = s.db.writer.queue_depth()
    if depth > 10 * s.config["store.batch_max"]:
        problems.append(f"database: {depth} writes waiting")
    if runtime is not None and runtime.last_error is not None:
        problems.append(f"retention: the last pass failed ({runtime.last_error})")
    if s.config.twilio_enabled and s.twilio is None:
        problems.append("twilio: configured but not running")
    return problems


async def readyz(request: web.Request) -> web.Response:
    s = _services(request)
    _authorise(request, s)
    runtime = _public(request).get(OPS_RUNTIME)
    started = time.monotonic()
    problems = await readiness_problems(s, runtime)
    body = {"status": "not ready" if problems else "ready", "problems": problems,
            "rules": s.rules.current.version,
            "check_ms": round((time.monotonic() - started) * 1000, 1)}
    return web.json_response(body, status=503 if problems else 200)
