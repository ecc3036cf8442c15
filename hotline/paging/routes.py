"""The paging API: a tip's page and acknowledgement history, and page call webhooks."""

from __future__ import annotations

from aiohttp import web


def setup_paging(app: web.Application) -> None:
    """Add the paging routes."""
