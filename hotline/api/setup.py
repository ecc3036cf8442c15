"""The advocate API's routes, gathered: the core (``routes``) and the modules built on its
helpers (``authed``, ``_advocate``, ...), which is why ``routes`` cannot add them itself."""

from __future__ import annotations

from aiohttp import web

from .admin_rules import setup_admin_rules
from .deletion import setup_deletion
from .handoff import setup_handoff
from .openapi import setup_openapi
from .routes import add_routes


def setup_api(app: web.Application) -> None:
    add_routes(app)
    setup_handoff(app)
    setup_deletion(app)
    setup_admin_rules(app)
    setup_openapi(app)
