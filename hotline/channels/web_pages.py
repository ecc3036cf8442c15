"""How the reporter pages answer: rendering, and the redirect after every post.

Chromium writes the body of every POST whose answer is a page into its
session-restore files (``Sessions/``), form fields and all — hidden ones too,
``autocomplete="off"`` or not (measured: docs/threat-model.md). An answer of
``303 See Other`` is different: the history entry becomes the GET that
follows, with no body. So every reporter post, whether it succeeded or not,
answers a browser with a 303 to a GET page; what happened travels as a short
code in the query string (``?n=added``, ``?problem=too-long``), never as
content. Scripts (no ``Sec-Fetch-Mode: navigate`` and no ``text/html`` in
``Accept``) keep getting a clear 4xx with the reason instead.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from urllib.parse import urlencode

from aiohttp import web

from .. import csrf
from ..errors import HotlineError
from ..logging import get_logger
from ..services import SERVICES, Services
from ..web import RENDERER
from ..web import messages as M
from .web_form import FormLimits, ReporterForm

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PROBLEMS: Mapping[str, str] = MappingProxyType({
    "expired": M.FORM_EXPIRED,
    "empty": M.EMPTY_MESSAGE,
    "too-long": M.MESSAGE_TOO_LONG,
    "too-many-files": M.TOO_MANY_FILES,
    "file-too-large": M.FILE_TOO_LARGE,
    "file-refused": M.FILE_NOT_ACCEPTED,
    "not-utf8": M.NOT_UTF8,
    "too-large": M.TOO_LARGE,
    "bad-request": M.BAD_REQUEST,
    "not-found": M.RECEIPT_NOT_FOUND,
    "busy": M.TOO_MANY_TRIES,
    "ended": M.FOLLOWUP_ENDED,
    "unavailable": M.BUSY,
})
"""``?problem=`` codes and the catalogued text each one shows."""

TEXT_LOST = frozenset({"expired", "too-long", "too-many-files", "file-too-large", "file-refused",
                       "not-utf8", "too-large", "bad-request", "unavailable"})
"""Problems after which the reporter must type again (we never keep what they wrote)."""

NOTICES: Mapping[str, str] = MappingProxyType({
    "added": M.MESSAGE_ADDED,
    "already": M.ALREADY_ADDED,
    "deleted": M.DELETION_REQUESTED,
})
"""``?n=`` codes for the outcome of a post that worked (or had already worked)."""

_BY_MESSAGE = {message: code for code, message in PROBLEMS.items()}


def limits(s: Services) -> FormLimits:
    c = s.config
    return FormLimits(c["web.max_message_chars"], c["web.max_attachments"],
                      c["web.max_attachment_size"])


def lang_of(request: web.Request, form: ReporterForm | None = None) -> str:
    explicit = form.get("lang") if form is not None else request.query.get("lang")
    return request.app[RENDERER].negotiate(request.headers.get("Accept-Language"), explicit or None)


def page(request: web.Request, template: str, lang: str, status: int = 200,
         **context: object) -> web.Response:
    """Render with a fresh form token bound to the reporter's cookie (set if missing)."""
    s = request.app[SERVICES]
    sent = cookie(request, csrf.COOKIE)
    value = sent or csrf.new_cookie_value()
    lim = limits(s)
    html = request.app[RENDERER].render(
        template, lang, csrf_token=csrf.issue(s.secret, value),
        max_attachments=lim.max_attachments,
        max_attachment_mb=max(1, lim.max_attachment_size // 1_000_000),
        max_chars=lim.max_chars, **context)
    response = web.Response(text=html, status=status, content_type="text/html")
    if sent != value:
        set_cookie(response, csrf.COOKIE, value, path="/", secure=secure(s))
    return response


def secure(s: Services) -> bool:
    return bool(s.config["service.public_url"].startswith("https://"))


def see_other(path: str, lang: str, **query: str) -> web.Response:
    """The answer to a post: where to GET next, with the outcome as a code."""
    return web.Response(status=303, headers={"Location": f"{path}?{urlencode({'lang': lang, **query})}"})


def cookie(request: web.Request, name: str) -> str | None:
    """The value of the cookie ``name`` the request carries, or None.

    What ``request.cookies`` answers, without building a ``Morsel`` for every cookie in the
    header on each post (~10 µs of the event loop). A quoted value — never one of ours, a
    browser sends back exactly what was set — goes to aiohttp's full parser instead.
    """
    header = request.headers.get("Cookie")
    if not header:
        return None
    if '"' in header:
        return request.cookies.get(name)
    found = None
    for pair in header.split(";"):
        key, sep, value = pair.partition("=")
        if sep and key.strip() == name:
            found = value.strip()  # the last of a repeated name, as aiohttp's mapping keeps
    return found


def set_cookie(response: web.StreamResponse, name: str, value: str, *, path: str,
               secure: bool) -> None:
    """Set a session cookie only this site's own requests carry: ``HttpOnly``,
    ``SameSite=Strict``, ``Secure`` on https, no expiry (gone with the browser session).

    The header aiohttp's ``set_cookie`` writes for these arguments, written directly: its
    ``SimpleCookie`` and ``Morsel`` cost the event loop ~10 µs an answer. ``value`` must be
    a cookie-safe token (ours are base64url), never anything a client sent.
    """
    if not _COOKIE_TOKEN.fullmatch(value):
        raise ValueError("not a cookie-safe value")
    response.headers.add(
        "Set-Cookie",
        f"{name}={value}; HttpOnly; Path={path}; SameSite=Strict" + ("; Secure" if secure else ""))


_COOKIE_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")


def is_navigation(request: web.Request) -> bool:
    """A browser loading a page (whose session history would keep a post's body)."""
    return (request.headers.get("Sec-Fetch-Mode") == "navigate"
            or "text/html" in request.headers.get("Accept", ""))


def translated(request: web.Request, lang: str, table: Mapping[str, str],
               code: str | None) -> str | None:
    message = table.get(code or "")
    return request.app[RENDERER].gettext(lang, message) if message is not None else None


def problem_text(request: web.Request, lang: str) -> list[str]:
    """The ``?problem=`` of a GET page, as the error lines it shows."""
    code = request.query.get("problem")
    first = translated(request, lang, PROBLEMS, code)
    if first is None:
        return []
    if code in TEXT_LOST:
        return [first, request.app[RENDERER].gettext(lang, M.TEXT_NOT_KEPT)]
    return [first]


def reporter_post(back: str) -> Callable[[Handler], Handler]:
    """Answer a browser's failed post with a 303 to ``back`` and the problem's code."""
    def wrap(handler: Handler) -> Handler:
        async def answer(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except HotlineError as e:
                if not is_navigation(request):
                    raise
                code = _BY_MESSAGE.get(e.public_message) or (
                    "unavailable" if e.http_status >= 500 else "bad-request")
                get_logger("hotline.web").info("post.refused", status=e.http_status, problem=code)
                lang = request.app[RENDERER].negotiate(
                    request.headers.get("Accept-Language"), request.query.get("lang"))
                return see_other(back, lang, problem=code)
        return answer
    return wrap
