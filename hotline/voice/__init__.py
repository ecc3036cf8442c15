"""The voice channel: Twilio Programmable Voice IVR, live hand-off and encrypted voicemail."""

from __future__ import annotations

from aiohttp import web


def setup_voice(app: web.Application) -> None:
    """Add the voice webhook routes (filled in by the voice channel's issue)."""
