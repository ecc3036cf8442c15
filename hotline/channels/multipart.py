"""A fast, strict, bounded parser for ``multipart/form-data`` request bodies.

The whole body is already in memory (aiohttp's ``client_max_size`` bounds it),
so this parses one ``bytes`` object with ``bytes.find`` and slicing: every
search runs at C speed, and the searches for one body never overlap, so the
work is linear in the body's size. There is no per-byte Python loop, and no
``email``/``cgi``.

Grammar accepted (RFC 2046 §5.1.1 and RFC 7578, narrowed to what browsers and
HTTP clients send):

* The body must begin with ``--boundary``. RFC 2046 allows a preamble before
  it; no browser or HTTP client sends one, and a preamble is only room for
  parsers to disagree, so any byte before the first delimiter is refused.
* After a delimiter comes optional transport padding (at most
  ``MAX_BOUNDARY_PADDING`` spaces and tabs, which RFC 2046 says receivers
  must tolerate) and CRLF; anything else is refused
  (the boundary then appears inside part data, which RFC 2046 forbids).
* Between parts the delimiter is ``CRLF--boundary``. The close delimiter is
  ``--boundary--``; a body without it is truncated and refused. Whatever
  follows the close delimiter is the epilogue, which RFC 2046 says to ignore,
  so it is ignored whatever it contains.
* A form with no fields is just the close delimiter (browsers send that for
  a form without successful controls) and parses as no parts.
* Each part's header section ends with an empty line (CRLF CRLF); it is at
  most ``MAX_HEADER_BYTES`` bytes and ``MAX_HEADER_LINES`` lines, decoded as
  strict UTF-8 (browsers send file names as raw UTF-8), with no control
  characters other than tab, no folded lines, no line beginning with the
  boundary, and lines ``Name: value`` with a token name (case-insensitive).
  A part whose data is empty may omit the empty line before the next
  delimiter (RFC 2046 ``[CRLF *OCTET]``), so data that would begin with
  ``--boundary`` is read, as RFC 2046 reads it, as the end of an empty part.
* Exactly one ``Content-Disposition: form-data`` header with a ``name``
  parameter. Parameter values are tokens or quoted-strings, where a backslash
  quotes the next character (RFC 9110 quoted-pair; note that browsers do not
  escape backslashes, they percent-encode ``"``, CR and LF, so a backslash in
  a browser-sent file name is read as an escape). ``filename*`` and ``name*``
  (RFC 8187/5987 ``UTF-8''percent-encoded``) are preferred to the plain
  parameter when both are given; other charsets and RFC 2231 continuations
  (``filename*0=``) are refused. Duplicate parameters are refused. Plain
  ``filename`` values are returned as sent: they are not percent-decoded.
* ``Content-Type`` at most once, never ``multipart/*`` (nested multipart).
  ``Content-Transfer-Encoding`` only ``7bit``/``8bit``/``binary``. Other
  headers are ignored.
* Part data is returned as raw bytes; a part is at most ``limit_for(name,
  filename)`` bytes (``PartTooLarge``), and a body at most ``max_parts``
  parts. The search for a part's end never looks further than its limit,
  so a part over its limit is ``PartTooLarge`` even if the body is also
  truncated further on.

Every refusal is a ``MultipartError`` whose ``reason`` is a short, fixed
English sentence that never contains any of the request's content.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

__all__ = [
    "MAX_BOUNDARY_PADDING",
    "MAX_HEADER_BYTES",
    "MAX_HEADER_LINES",
    "MultipartError",
    "Part",
    "PartTooLarge",
    "boundary_from_content_type",
    "parse_multipart",
]

MAX_HEADER_BYTES = 8192
"""Largest header section of one part, in bytes (without its final CRLF CRLF)."""
MAX_HEADER_LINES = 16
"""Most header lines in one part."""
MAX_BOUNDARY_PADDING = 64
"""Most transport-padding bytes (spaces, tabs) tolerated after a delimiter."""


@dataclass(frozen=True, slots=True)
class Part:
    """One field of the form."""

    name: str
    filename: str | None  # None without a filename parameter; "" for filename=""
    content_type: str | None  # the part's Content-Type header value, or None
    data: bytes = field(repr=False)


class MultipartError(ValueError):
    """The body is not acceptable ``multipart/form-data``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class PartTooLarge(MultipartError):
    """A part's data is larger than the limit for its field."""

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        super().__init__("a part is larger than the limit for its field")


_TCHARS = r"!#$%&'*+.^_`|~0-9A-Za-z-"
_TOKEN = f"[{_TCHARS}]+"
_TOKEN_RE = re.compile(_TOKEN)
_MEDIA_TYPE_RE = re.compile(rf"[ \t]*({_TOKEN})/({_TOKEN})[ \t]*")
_DISPOSITION_TYPE_RE = re.compile(rf"[ \t]*({_TOKEN})[ \t]*")
# One `; name=value` (or an empty `;`, which RFC 9110's grammar allows);
# value is a token or a quoted-string. Unrolled so matching is linear.
_PARAM_RE = re.compile(
    rf'[ \t]*;[ \t]*(?:({_TOKEN})[ \t]*=[ \t]*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|({_TOKEN})))?[ \t]*'
)
_QUOTED_PAIR_RE = re.compile(r"\\(.)")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # CTLs except HTAB
# In a header section: CTLs except HTAB, CR and LF (CR and LF are counted).
_HEADER_CONTROL_RE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEADER_LINE_RE = re.compile(rf"({_TOKEN}):[ \t]*(.*)")  # value right-stripped after
_NESTED_RE = re.compile(r"multipart[ \t]*/", re.IGNORECASE)
# The common case, decoded by one match: lower-case type, name, optional
# filename, quoted, without backslashes (control characters are already out).
_SIMPLE_DISPOSITION_RE = re.compile(r'form-data; name="([^"\\]*)"(?:; filename="([^"\\]*)")?')
_CONTINUATION_RE = re.compile(r"(?:name|filename)\*[0-9]+\*?")
# RFC 8187 ext-value: charset "'" [ language ] "'" value-chars
_EXT_VALUE_RE = re.compile(
    r"([!#$%&+^_`{}~0-9A-Za-z-]+)'([0-9A-Za-z-]*)'((?:%[0-9A-Fa-f]{2}|[!#$&+.^_`|~0-9A-Za-z-])*)"
)
# RFC 2046 §5.1.1: 1-70 bchars, the last not a space.
_BCHARS = r"0-9A-Za-z'()+_,\-./:=?"
_BOUNDARY_RE = re.compile(rf"[{_BCHARS} ]{{0,69}}[{_BCHARS}]")
_BOUNDARY_BYTES_RE = re.compile(_BOUNDARY_RE.pattern.encode("ascii"))
_PLAIN_ENCODINGS = frozenset({"7bit", "8bit", "binary"})

_Params = dict[str, tuple[str, bool]]  # lower-cased name -> (raw value, was quoted)


def boundary_from_content_type(content_type_header: str) -> bytes:
    """The boundary of a ``multipart/form-data; boundary=...`` header value.

    The boundary may be a token or a quoted-string; it must be 1-70
    characters from RFC 2046's set, not ending in a space.
    """
    m = _MEDIA_TYPE_RE.match(content_type_header)
    if m is None:
        raise MultipartError("malformed Content-Type header")
    if m.group(1).lower() != "multipart" or m.group(2).lower() != "form-data":
        raise MultipartError("Content-Type is not multipart/form-data")
    params = _parse_params(content_type_header, m.end(), "Content-Type")
    if "boundary" not in params:
        raise MultipartError("Content-Type has no boundary parameter")
    raw, quoted = params["boundary"]
    boundary = _unquote(raw) if quoted else raw
    if _BOUNDARY_RE.fullmatch(boundary) is None:
        raise MultipartError("invalid multipart boundary")
    return boundary.encode("ascii")


def parse_multipart(
    body: bytes,
    boundary: bytes,
    *,
    max_parts: int,
    limit_for: Callable[[str, str | None], int],
) -> list[Part]:
    """Every part of a complete ``multipart/form-data`` body, in order.

    ``limit_for(name, filename)`` gives the most bytes that part's data may
    hold (more raises ``PartTooLarge``); more than ``max_parts`` parts raises
    ``MultipartError``, as does anything malformed (see the module docstring).
    """
    if _BOUNDARY_BYTES_RE.fullmatch(boundary) is None:
        raise MultipartError("invalid multipart boundary")
    dash_boundary = b"--" + boundary
    delimiter = b"\r\n" + dash_boundary
    delimiter_len = len(delimiter)
    size = len(body)
    if not body.startswith(dash_boundary):
        if not body:
            raise MultipartError("empty multipart body")
        raise MultipartError("multipart body does not begin with the boundary")
    parts: list[Part] = []
    pos = len(dash_boundary)  # just after a dash-boundary
    while True:
        # The rest of the delimiter line: "--" (close), or padding and CRLF.
        if body.startswith(b"--", pos):
            return parts  # the epilogue, if any, is ignored (RFC 2046)
        if not body.startswith(b"\r\n", pos):
            pos = _skip_padding(body, pos)
        # pos is at the CRLF that ends the delimiter line.
        if len(parts) >= max_parts:
            raise MultipartError("too many parts")
        window = pos + MAX_HEADER_BYTES + 6
        header_end = body.find(b"\r\n\r\n", pos, window)
        if header_end == -1:
            if window >= size:
                raise MultipartError("part headers are not terminated (truncated body)")
            raise MultipartError("part headers are too large")
        raw_headers = body[pos + 2 : header_end]
        if raw_headers.startswith(dash_boundary) or delimiter in raw_headers:
            raise MultipartError("boundary delimiter inside part headers")
        name, filename, content_type = _parse_headers(raw_headers)
        limit = max(limit_for(name, filename), 0)
        data_start = header_end + 4
        # header_end + 2: a part with empty data may omit the empty line.
        window = data_start + limit + delimiter_len
        data_end = body.find(delimiter, header_end + 2, window)
        if data_end == -1:
            if window <= size:
                raise PartTooLarge(name, limit)
            raise MultipartError("missing close delimiter (truncated body)")
        data = body[data_start:data_end] if data_end > data_start else b""
        parts.append(Part(name, filename, content_type, data))
        pos = data_end + delimiter_len


def _skip_padding(body: bytes, pos: int) -> int:
    """The position of the CRLF after transport padding that starts at pos."""
    line_end = body.find(b"\r\n", pos, pos + MAX_BOUNDARY_PADDING + 2)
    if line_end == -1:
        rest = body[pos : pos + MAX_BOUNDARY_PADDING + 2]
        if pos + len(rest) >= len(body) and rest.strip(b" \t") in (b"", b"\r", b"-"):
            raise MultipartError("missing close delimiter (truncated body)")
        raise MultipartError("unexpected bytes after a boundary delimiter")
    if body[pos:line_end].strip(b" \t"):
        raise MultipartError("unexpected bytes after a boundary delimiter")
    return line_end


def _parse_headers(raw: bytes) -> tuple[str, str | None, str | None]:
    """(name, filename, content type) from one part's header lines."""
    if not raw:
        raise MultipartError("part has no Content-Disposition header")
    line_breaks = raw.count(b"\r\n")
    if line_breaks >= MAX_HEADER_LINES:
        raise MultipartError("part has too many header lines")
    if raw.count(b"\r") != line_breaks or raw.count(b"\n") != line_breaks:
        raise MultipartError("bare CR or LF in part headers")
    if _HEADER_CONTROL_RE.search(raw) is not None:
        raise MultipartError("control character in part headers")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MultipartError("part headers are not valid UTF-8") from None
    disposition: tuple[str, str | None] | None = None
    content_type: str | None = None
    transfer_encoding_seen = False
    for line in text.split("\r\n"):
        m = _HEADER_LINE_RE.fullmatch(line)
        if m is None:
            if line.startswith((" ", "\t")):
                raise MultipartError("folded part header line")
            if ":" not in line:
                raise MultipartError("part header line has no colon")
            raise MultipartError("invalid part header name")
        key = m.group(1).lower()
        if key == "content-disposition":
            if disposition is not None:
                raise MultipartError("duplicate Content-Disposition header")
            disposition = _parse_disposition(m.group(2).rstrip(" \t"))
        elif key == "content-type":
            if content_type is not None:
                raise MultipartError("duplicate Content-Type header")
            content_type = m.group(2).rstrip(" \t")
            if _NESTED_RE.match(content_type):
                raise MultipartError("nested multipart parts are not supported")
        elif key == "content-transfer-encoding":
            if transfer_encoding_seen:
                raise MultipartError("duplicate Content-Transfer-Encoding header")
            transfer_encoding_seen = True
            if m.group(2).rstrip(" \t").lower() not in _PLAIN_ENCODINGS:
                raise MultipartError("unsupported Content-Transfer-Encoding")
    if disposition is None:
        raise MultipartError("part has no Content-Disposition header")
    return disposition[0], disposition[1], content_type


def _parse_disposition(value: str) -> tuple[str, str | None]:
    """(name, filename) from a Content-Disposition value."""
    fast = _SIMPLE_DISPOSITION_RE.fullmatch(value)
    if fast is not None:  # what browsers send: no escapes, nothing to decode
        return fast.group(1), fast.group(2)
    m = _DISPOSITION_TYPE_RE.match(value)
    if m is None:
        raise MultipartError("malformed Content-Disposition header")
    if m.group(1).lower() != "form-data":
        raise MultipartError("Content-Disposition is not form-data")
    params = _parse_params(value, m.end(), "Content-Disposition")
    name = _param(params, "name")
    if name is None:
        raise MultipartError("Content-Disposition has no name parameter")
    return name, _param(params, "filename")


def _param(params: _Params, key: str) -> str | None:
    extended = params.get(key + "*")
    if extended is not None:
        value = _decode_ext_value(*extended)
    elif (plain := params.get(key)) is not None:
        value = _unquote(plain[0]) if plain[1] else plain[0]
    else:
        return None
    if _CONTROL_RE.search(value) is not None:
        raise MultipartError("control character in a name or filename")
    return value


def _decode_ext_value(raw: str, quoted: bool) -> str:
    m = None if quoted else _EXT_VALUE_RE.fullmatch(raw)
    if m is None:
        raise MultipartError("malformed RFC 8187 extended parameter")
    if m.group(1).lower() != "utf-8":
        raise MultipartError("extended parameter charset is not UTF-8")
    try:
        return unquote_to_bytes(m.group(3)).decode("utf-8")
    except UnicodeDecodeError:
        raise MultipartError("extended parameter is not valid UTF-8") from None


def _parse_params(value: str, pos: int, header: str) -> _Params:
    params: _Params = {}
    end = len(value)
    while pos < end:
        m = _PARAM_RE.match(value, pos)
        if m is None:
            raise MultipartError(f"malformed {header} parameters")
        pos = m.end()
        key = m.group(1)
        if key is None:
            continue  # an empty parameter: ";;" or a trailing ";"
        key = key.lower()
        if "*" in key and _CONTINUATION_RE.fullmatch(key):
            raise MultipartError("RFC 2231 parameter continuations are not supported")
        if key in params:
            raise MultipartError(f"duplicate parameter in {header} header")
        quoted = m.group(2)
        params[key] = (quoted, True) if quoted is not None else (m.group(3), False)
    return params


def _unquote(quoted_string_content: str) -> str:
    if "\\" not in quoted_string_content:
        return quoted_string_content
    return _QUOTED_PAIR_RE.sub(r"\1", quoted_string_content)
