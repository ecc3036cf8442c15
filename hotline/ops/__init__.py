"""Running it for real: metrics, health, retention, backups, doctor."""

from __future__ import annotations

from aiohttp import web


def setup_ops(app: web.Application) -> None:
    """Add the operational routes (/metrics, /readyz)."""
