"""The ops side of the public application: metrics hooked in, retention running."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ..services import SERVICES, Services
from .routes import OPS_RUNTIME
from .runtime import OpsRuntime


def setup_ops(app: web.Application) -> None:
    """Hook the metrics into the store and rules, and run retention.

    ``/metrics`` and ``/readyz`` are not routes of this (public) application:
    ``listener.make_ops_app`` serves them on the ops listener.

    The retention task starts after the services open and stops before they
    close (``cleanup_ctx`` runs in reverse), unless the services already run
    their own ``OpsRuntime`` (``services.ops``).
    """
    app.cleanup_ctx.append(_ops_lifecycle)


async def _ops_lifecycle(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    hook_metrics(services)
    existing: OpsRuntime | None = getattr(services, "ops", None)
    runtime = existing or OpsRuntime()
    if existing is None:
        await runtime.open(services)
    app[OPS_RUNTIME] = runtime
    yield
    if existing is None:
        await runtime.close()


def hook_metrics(services: Services) -> None:
    """Point the writer's commit observer, queue-depth gauge and rule reloads at the metrics."""
    m = services.metrics
    writer = services.db.writer
    writer.observer = m.observe_commit
    m.writer_queue_depth.set_function(writer.queue_depth)
    services.rules.on_reload = lambda outcome: m.rule_reloads.labels(outcome).inc()
