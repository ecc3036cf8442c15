"""The voice channel: Twilio Programmable Voice IVR, live hand-off and encrypted voicemail.

Kept import-light: the config loader imports ``voice.settings`` through this
package, so the routes (which need the app) are imported only when added.
"""

from __future__ import annotations

from aiohttp import web


def setup_voice(app: web.Application) -> None:
    """Add the voice webhook routes: ``POST /twilio/voice`` and the steps its TwiML names."""
    from .routes import add_routes

    add_routes(app)
