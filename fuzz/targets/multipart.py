"""Fuzz ``hotline.channels.multipart``: the reporter form's body parser.

Input layout: the first line (up to the first ``\\n``) is a Content-Type
header value; the rest is the body. The boundary comes from that header
through ``boundary_from_content_type``; when the header is refused, the
body is still parsed with the boundary the seeds use, so a broken header
does not stop the body from being explored.

Contract: ``MultipartError`` (``PartTooLarge`` included) or a list of parts.
Properties of an accepted body: no part is over its limit; no more parts than
allowed; the data returned is no larger than the body; serialising the parts
again (in a canonical form) and parsing that gives the same parts.
"""

from __future__ import annotations

from urllib.parse import quote

from fuzz.harness import fuzz_main, instrumented, require

with instrumented(__name__):
    from hotline.channels.multipart import (
        MultipartError,
        Part,
        boundary_from_content_type,
        parse_multipart,
    )

SEED_BOUNDARY = b"----hotlinefuzz"
MAX_PARTS = 8
LIMITS = {"message": 4096, "attachment": 2048, "csrf_token": 200, "lang": 16}


def limit_for(name: str, filename: str | None) -> int:
    return LIMITS.get(name, 256)


def serialise(parts: list[Part], boundary: bytes) -> bytes:
    """A canonical body for ``parts``: every name in RFC 8187 form, so any text survives."""
    out = []
    for part in parts:
        disposition = "form-data; name*=UTF-8''" + quote(part.name, safe="")
        if part.filename is not None:
            disposition += "; filename*=UTF-8''" + quote(part.filename, safe="")
        headers = "Content-Disposition: " + disposition
        if part.content_type is not None:
            headers += "\r\nContent-Type: " + part.content_type
        out.append(b"--" + boundary + b"\r\n" + headers.encode("utf-8") + b"\r\n\r\n" + part.data + b"\r\n")
    return b"".join(out) + b"--" + boundary + b"--\r\n"


def check(data: bytes) -> None:
    header, _, body = data.partition(b"\n")
    try:
        boundary = boundary_from_content_type(header.decode("latin-1"))
    except MultipartError:
        boundary = SEED_BOUNDARY
    try:
        parts = parse_multipart(body, boundary, max_parts=MAX_PARTS, limit_for=limit_for)
    except MultipartError:
        return
    require(len(parts) <= MAX_PARTS, "more parts than max_parts")
    require(sum(len(p.data) for p in parts) <= len(body), "parts hold more data than the body")
    for part in parts:
        require(len(part.data) <= limit_for(part.name, part.filename), "a part is over its limit")
    again = parse_multipart(serialise(parts, boundary), boundary, max_parts=MAX_PARTS, limit_for=limit_for)
    require(again == parts, "re-parsing the serialised parts gives different parts")


if __name__ == "__main__":
    fuzz_main(check)
