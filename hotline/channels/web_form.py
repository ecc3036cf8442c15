"""Strict parsing of the reporter's form posts, with every limit enforced while
reading (never after buffering an unbounded body).

Accepts ``multipart/form-data`` (the form's own encoding) and
``application/x-www-form-urlencoded`` (text-only clients); anything else is
415. Text must be valid UTF-8. Unknown fields are ignored; repeated scalar
fields are refused (a sign of tampering, not of a browser).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web

from ..errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from ..intake import InboundAttachment
from ..web import messages as M

_SCALARS = ("message", "csrf_token", "lang", "receipt")
_MAX_SCALAR_BYTES = {"csrf_token": 200, "lang": 16, "receipt": 2000}


@dataclass(frozen=True)
class FormLimits:
    max_chars: int
    max_attachments: int
    max_attachment_size: int


@dataclass
class ReporterForm:
    fields: dict[str, str] = field(default_factory=dict, repr=False)
    attachments: list[InboundAttachment] = field(default_factory=list, repr=False)

    def get(self, name: str) -> str:
        return self.fields.get(name, "")


async def read_form(request: web.Request, limits: FormLimits) -> ReporterForm:
    ctype = request.content_type
    if ctype == "multipart/form-data":
        return await _read_multipart(request, limits)
    if ctype == "application/x-www-form-urlencoded":
        return await _read_urlencoded(request)
    raise UnsupportedMediaType(M.BAD_REQUEST)


async def _read_urlencoded(request: web.Request) -> ReporterForm:
    form = ReporterForm()
    try:
        data = await request.post()
    except UnicodeDecodeError:
        raise BadRequest(M.NOT_UTF8) from None
    for name in _SCALARS:
        values = data.getall(name, [])
        if len(values) > 1:
            raise BadRequest(M.BAD_REQUEST)
        if values:
            form.fields[name] = _text(str(values[0]), name)
    return form


async def _read_multipart(request: web.Request, limits: FormLimits) -> ReporterForm:
    form = ReporterForm()
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise BadRequest(M.BAD_REQUEST)
            await _read_part(part, form, limits)
    except (ValueError, AssertionError, KeyError) as e:
        if isinstance(e, UnicodeDecodeError):
            raise BadRequest(M.NOT_UTF8) from None
        raise BadRequest(M.BAD_REQUEST) from None
    return form


async def _read_part(part: BodyPartReader, form: ReporterForm, limits: FormLimits) -> None:
    name = part.name or ""
    if name == "attachment":
        await _read_attachment(part, form, limits)
    elif name in _SCALARS:
        if name in form.fields:
            raise BadRequest(M.BAD_REQUEST)
        limit = 4 * limits.max_chars + 16 if name == "message" else _MAX_SCALAR_BYTES[name]
        raw = await _read_bounded(part, limit, M.MESSAGE_TOO_LONG)
        try:
            form.fields[name] = _text(raw.decode("utf-8"), name)
        except UnicodeDecodeError:
            raise BadRequest(M.NOT_UTF8) from None
    else:
        await _read_bounded(part, 4096, M.TOO_LARGE)  # drain and ignore


async def _read_attachment(part: BodyPartReader, form: ReporterForm, limits: FormLimits) -> None:
    filename = part.filename or ""
    if not filename:  # the browser's empty file input
        await _read_bounded(part, 0, M.BAD_REQUEST)
        return
    if len(form.attachments) >= limits.max_attachments:
        raise PayloadTooLarge(M.TOO_MANY_FILES)
    data = await _read_bounded(part, limits.max_attachment_size, M.FILE_TOO_LARGE)
    ctype = part.headers.get("Content-Type", "application/octet-stream")[:100]
    form.attachments.append(InboundAttachment(_clean_filename(filename), ctype, data))


async def _read_bounded(part: BodyPartReader, limit: int, message: str) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk(65536):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(message)
        chunks.append(chunk)
    return b"".join(chunks)


def _text(value: str, name: str) -> str:
    if "\x00" in value:
        raise BadRequest(M.BAD_REQUEST)
    return value if name == "message" else value.strip()


def _clean_filename(name: str) -> str:
    """A display name only: no path, no control characters, bounded."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in unicodedata.normalize("NFC", base) if c.isprintable())
    return cleaned[:200] or "attachment"


def clean_message(text: str, max_chars: int) -> str:
    """Normalise line ends; refuse empty or overlong messages with a clear reason."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise BadRequest(M.EMPTY_MESSAGE)
    if len(text) > max_chars:
        raise PayloadTooLarge(M.MESSAGE_TOO_LONG)
    return text
