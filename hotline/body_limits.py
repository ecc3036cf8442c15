"""How large a request body each route may have, enforced before anything reads it.

One application-wide ceiling sized for the web form's attachments let a
30 MB JSON body reach ``/api/auth/challenge`` and be parsed on the event loop
before any authentication, stalling every other request. Here each route
gets the smallest bound its own use needs: a few KiB for logins, Twilio's
webhooks and the small forms; large bodies only where a reporter attaches
files or an advocate uploads envelopes, and those advocate routes read their
body only after the token is checked (``api.routes.authed`` runs first).
A declared ``Content-Length`` over the bound is refused without reading a
byte; a chunked body is cut off at the bound while it is read.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from .errors import PayloadTooLarge

KIB = 1024
AUTH_BYTES = 4 * KIB
SMALL_BYTES = 64 * KIB  # small forms, Twilio webhooks, ordinary API calls
NO_BODY_BYTES = 1 * KIB  # GET and friends carry none

# Advocates' envelope uploads: a reply or note with its envelope, a hand-off's grants.
_UPLOAD_API = re.compile(r"^/api/tips/[^/]+/(messages|handoff|grants)$")
# The reporter's forms that take attachments.
_REPORTER_UPLOADS = frozenset({"/report", "/followup/add"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class BodyLimits:
    """The two large bounds come from configuration; the rest are constants."""

    reporter_upload: int
    advocate_upload: int

    def for_request(self, method: str, path: str) -> int:
        if method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return NO_BODY_BYTES
        if path.startswith("/api/auth/"):
            return AUTH_BYTES
        if path in _REPORTER_UPLOADS:
            return self.reporter_upload
        if _UPLOAD_API.match(path):
            return self.advocate_upload
        return SMALL_BYTES

    def middleware(self) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
        @web.middleware
        async def bounded_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
            limit = self.for_request(request.method, request.path)
            if (request.content_length or 0) > limit:
                raise PayloadTooLarge()
            return await handler(request.clone(client_max_size=limit))

        return bounded_bodies
