"""A request's media type, read so that a malformed Content-Type is a 400, never a 500.

aiohttp parses Content-Type with the standard library's e-mail header parser,
which raises IndexError on some malformed parameters (``multipart/form-data;
a*``; found by ``fuzz/forms``). Every handler that looks at the media type reads
it here. aiohttp keeps the parse, so ``request.charset`` and ``request.post()``
later see the same, already parsed, header.
"""

from __future__ import annotations

from aiohttp import web

from .errors import BadRequest

MALFORMED = "the Content-Type header is malformed"


def media_type(request: web.Request, message: str = MALFORMED) -> str:
    """``request.content_type``, or ``BadRequest(message)`` when the header cannot be parsed."""
    try:
        return request.content_type
    except IndexError:
        raise BadRequest(message) from None
