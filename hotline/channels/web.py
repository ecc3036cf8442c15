"""The web channel: the reporter's form, receipt and follow-up pages.

HTTP ↔ ``Inbound`` only; storage is the intake's job. Pages that carry
content are answers to POSTs and are never cached; receipts never appear in a
URL. A wrong receipt and one that does not exist get the same answer after
the same work (derive keys, one lookup).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from babel.dates import format_datetime

from crypto import CryptoError, ReplyKeyPair, derive_receipt_keys, open_envelope, unwrap

from .. import csrf, receipts
from ..app import RENDERER, SERVICES
from ..domain import Channel, Direction, TipId, Urgency
from ..errors import Forbidden, HotlineError, TooManyRequests
from ..intake import RECEIPT_LABEL, Inbound
from ..logging import get_logger
from ..services import Services
from ..twilio.texts import duration_words
from ..web import messages as M
from .web_form import FormLimits, ReporterForm, clean_message, read_form

_DUMMY_ENTROPY = bytes(16)


def setup_web(app: web.Application) -> None:
    app.router.add_get("/", form_page)
    app.router.add_post("/report", submit_report)
    app.router.add_get("/followup", followup_page)
    app.router.add_post("/followup", open_thread)
    app.router.add_post("/followup/add", add_to_thread)
    app.router.add_post("/followup/delete", delete_thread)


def _limits(s: Services) -> FormLimits:
    c = s.config
    return FormLimits(c["web.max_message_chars"], c["web.max_attachments"],
                      c["web.max_attachment_size"])


def _lang(request: web.Request, form: ReporterForm | None = None) -> str:
    explicit = form.get("lang") if form is not None else request.query.get("lang")
    return request.app[RENDERER].negotiate(request.headers.get("Accept-Language"), explicit or None)


def _page(request: web.Request, template: str, lang: str, status: int = 200,
          **context: object) -> web.Response:
    """Render with a CSRF token bound to the reporter's cookie (set if missing)."""
    s = request.app[SERVICES]
    cookie = request.cookies.get(csrf.COOKIE) or csrf.new_cookie_value()
    limits = _limits(s)
    html = request.app[RENDERER].render(
        template, lang, csrf_token=csrf.issue(s.secret, cookie),
        max_attachments=limits.max_attachments,
        max_attachment_mb=max(1, limits.max_attachment_size // 1_000_000),
        max_chars=limits.max_chars, **context)
    response = web.Response(text=html, status=status, content_type="text/html")
    if request.cookies.get(csrf.COOKIE) != cookie:
        response.set_cookie(csrf.COOKIE, cookie, httponly=True, samesite="Strict", path="/",
                            secure=s.config["service.public_url"].startswith("https://"))
    return response


async def _checked_form(request: web.Request) -> ReporterForm:
    s = request.app[SERVICES]
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden(M.FORM_EXPIRED)
    form = await read_form(request, _limits(s))
    reason = csrf.verify(s.secret, request.cookies.get(csrf.COOKIE), form.get("csrf_token") or None,
                         s.config["web.csrf_max_age"])
    if reason is not None:
        get_logger("hotline.web").info("csrf.refused", reason=reason)
        raise Forbidden(M.FORM_EXPIRED)
    return form


async def form_page(request: web.Request) -> web.Response:
    return _page(request, "form.html", _lang(request), errors=[], text="")


async def submit_report(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    form = await _checked_form(request)
    lang = _lang(request, form)
    try:
        text = clean_message(form.get("message"), _limits(s).max_chars)
    except HotlineError as e:
        return _page(request, "form.html", lang, status=e.http_status,
                     errors=[request.app[RENDERER].gettext(lang, e.public_message)],
                     text=form.get("message"))
    words, entropy = receipts.new_receipt(lang)
    result = await s.intake.submit(Inbound(
        channel=Channel.WEB, text=text, lang=lang, receipt=derive_receipt_keys(entropy),
        attachments=tuple(form.attachments)))
    return _page(request, "receipt.html", lang, receipt_words=words,
                 urgent=result.urgency >= Urgency.HIGH)


async def followup_page(request: web.Request) -> web.Response:
    return _page(request, "followup.html", _lang(request), error=None)


@dataclass(frozen=True)
class _Thread:
    tip_id: TipId
    reply_keys: ReplyKeyPair


async def _find_thread(s: Services, phrase: str) -> _Thread | None:
    """Same work for a malformed, unknown or valid receipt; None unless valid."""
    if s.receipt_limit.exhausted():
        raise TooManyRequests(M.TOO_MANY_TRIES)
    entropy = receipts.decode(phrase)
    keys = derive_receipt_keys(entropy if entropy is not None else _DUMMY_ENTROPY)
    row = None
    for h in s.secret.hashes(RECEIPT_LABEL, keys.lookup_id):
        row = await s.db.fetchone("SELECT id FROM tips WHERE receipt_lookup = ?", (h,)) or row
    if entropy is None or row is None:
        s.receipt_limit.record_failure()
        return None
    return _Thread(TipId(row["id"]), keys.reply)


async def _receipt_post(
    request: web.Request,
) -> tuple[Services, ReporterForm, str, _Thread | web.Response]:
    """Both follow-up posts start alike: a checked form, its language, its thread."""
    s = request.app[SERVICES]
    form = await _checked_form(request)
    lang = _lang(request, form)
    thread = await _find_thread(s, form.get("receipt"))
    return s, form, lang, thread if thread is not None else _not_found(request, lang)


async def open_thread(request: web.Request) -> web.Response:
    s, form, lang, thread = await _receipt_post(request)
    if isinstance(thread, web.Response):
        return thread
    return await _thread_page(request, s, lang, thread, form.get("receipt"), notice=None)


def _not_found(request: web.Request, lang: str) -> web.Response:
    message = request.app[RENDERER].gettext(lang, M.RECEIPT_NOT_FOUND)
    return _page(request, "followup.html", lang, status=404, error=message)


async def add_to_thread(request: web.Request) -> web.Response:
    s, form, lang, thread = await _receipt_post(request)
    if isinstance(thread, web.Response):
        return thread
    renderer = request.app[RENDERER]
    try:
        text = clean_message(form.get("message"), _limits(s).max_chars)
    except HotlineError as e:
        return await _thread_page(request, s, lang, thread, form.get("receipt"), notice=None,
                                  errors=[renderer.gettext(lang, e.public_message)],
                                  text=form.get("message"), status=e.http_status)
    await s.intake.submit(Inbound(channel=Channel.WEB, text=text, lang=lang,
                                  tip_id=thread.tip_id, attachments=tuple(form.attachments)))
    return await _thread_page(request, s, lang, thread, form.get("receipt"),
                              notice=renderer.gettext(lang, M.MESSAGE_ADDED))


async def delete_thread(request: web.Request) -> web.Response:
    """The reporter asks for their conversation to be deleted: after a grace period.

    The request is durable before the answer (``hotline.deletion``): the
    advocates on the tip are paged, one may hold it, and a message added with
    the receipt before it falls due cancels it; then the retention task shreds
    the tip. The answer says when, and how to stop it, and is the same whether
    it started a request or repeated one; a hold is not the reporter's risk to
    learn about (docs/threat-model.md).
    """
    from ..deletion import request_by_reporter
    from ..ops.routes import OPS_RUNTIME

    s, _form, lang, thread = await _receipt_post(request)
    if isinstance(thread, web.Response):
        return thread
    if not s.config["ops.reporter_deletion"]:
        raise Forbidden(M.BAD_REQUEST)
    grace = s.config["ops.deletion_grace"]
    new = await request_by_reporter(s.db, thread.tip_id, "web", grace=grace,
                                    default_delay=s.config["paging.default_delay"])
    if new and s.paging is not None:
        s.paging.worker.wake()
    runtime = request.app.get(OPS_RUNTIME)
    if runtime is not None:
        runtime.wake()  # it sleeps until the request falls due
    notice = request.app[RENDERER].gettext(lang, M.DELETION_REQUESTED).replace(
        "{delay}", duration_words(lang, grace))
    return _page(request, "followup.html", lang, error=None, notice=notice)


async def _thread_page(request: web.Request, s: Services, lang: str, thread: _Thread,
                       receipt: str, notice: str | None, status: int = 200,
                       errors: list[str] | None = None, text: str = "") -> web.Response:
    entries = await thread_entries(s, thread, lang)
    return _page(request, "thread.html", lang, status=status, receipt=receipt,
                 entries=entries, notice=notice, errors=errors or [], text=text,
                 deletion_allowed=s.config["ops.reporter_deletion"],
                 deletion_delay=duration_words(lang, s.config["ops.deletion_grace"]))


async def thread_entries(s: Services, thread: _Thread, lang: str) -> list[dict[str, object]]:
    """Replies opened with the receipt key; the reporter's own messages as times only."""
    key = await s.keystore.get(thread.tip_id)
    rows = await s.db.fetchall(
        "SELECT direction, created_at, envelope, id FROM messages WHERE tip_id = ?"
        " AND direction IN ('in', 'out') ORDER BY seq", (thread.tip_id,))
    entries: list[dict[str, object]] = []
    for row in rows:
        at = _display_time(row["created_at"], lang)
        if row["direction"] == Direction.IN.value:
            entries.append({"kind": "sent", "at": at, "text": None})
            continue
        text = _open_reply(key, thread, bytes(row["envelope"]))
        if text is not None:
            entries.append({"kind": "reply", "at": at, "text": text})
    return entries


def _open_reply(key: bytes | None, thread: _Thread, wrapped: bytes) -> str | None:
    if key is None:
        return None
    try:
        opened = open_envelope(unwrap(key, wrapped, label=thread.tip_id), thread.reply_keys)
        doc = json.loads(opened.body)
        return str(doc.get("text", ""))
    except (CryptoError, ValueError):
        get_logger("hotline.web").warning("reply.unreadable", tip=thread.tip_id)
        return None


def _display_time(stamp: str, lang: str) -> str:
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return format_datetime(moment, "medium", tzinfo=UTC, locale=lang) + " UTC"
