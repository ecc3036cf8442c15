"""The advocate console: a browser app that decrypts only on the advocate's device."""

from __future__ import annotations

from aiohttp import web


def setup_console(app: web.Application) -> None:
    """Add the console's routes and static files."""
