"""The web channel: the reporter's form, receipt and follow-up pages.

HTTP ↔ ``Inbound`` only; storage is the intake's job. Nothing a reporter
typed or saw may stay on their phone (docs/threat-model.md, "abuser holding
the phone"), so:

- every post answers with ``303 See Other`` (``web_pages.py``): no history
  entry carries a post body into Chromium's session files;
- the receipt never appears in a URL or a form: the pages after a post get it
  from a cookie only this server can open (``web_sealed.py``); the receipt
  view is single-use, the conversation view expires;
- every form token is single-use (``csrf.py``): a reload, double click or
  replayed post sends nothing twice, and the reporter is told so;
- ``/exit`` (the quick exit) clears the site's cookies, storage and cache.

A wrong receipt and one that does not exist get the same answer after the
same work (derive keys, one lookup).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from babel.dates import format_datetime

from crypto import CryptoError, ReplyKeyPair, derive_receipt_keys, open_envelope, unwrap

from .. import csrf, receipts
from ..deletion import request_by_reporter
from ..domain import Channel, Direction, MessageId, TipId, Urgency
from ..entropy import Draw
from ..errors import Forbidden, NotFound, TooManyRequests
from ..intake import RECEIPT_LABEL, Inbound, IntakeResult, StoreHook
from ..logging import get_logger
from ..ops.routes import OPS_RUNTIME
from ..ratelimit import Strained
from ..services import SERVICES, Services
from ..store import used_once
from ..store.rehash import find_tip
from ..twilio.texts import duration_words
from ..web import messages as M
from . import web_sealed as sealed
from .web_form import ReporterForm, clean_message, read_form
from .web_pages import (
    NOTICES,
    cookie,
    is_navigation,
    lang_of,
    limits,
    page,
    problem_text,
    reporter_post,
    secure,
    see_other,
    set_cookie,
    translated,
)

_DUMMY_ENTROPY = bytes(16)
_RECEIPT_VIEW_USED = "receipt-view-used"
_URGENT, _CALM = 1, 0


def setup_web(app: web.Application) -> None:
    app.router.add_get("/", form_page)
    app.router.add_post("/report", submit_report)
    app.router.add_get("/receipt", receipt_page)
    app.router.add_get("/followup", followup_page)
    app.router.add_post("/followup", open_thread)
    app.router.add_get("/followup/thread", thread_page)
    app.router.add_post("/followup/add", add_to_thread)
    app.router.add_post("/followup/delete", delete_thread)
    app.router.add_get("/exit", quick_exit)


# -- the form token ---------------------------------------------------------------


@dataclass(frozen=True)
class _Post:
    form: ReporterForm
    token: csrf.FormToken
    lang: str


async def _checked_form(request: web.Request) -> _Post:
    """A same-site post with a valid token, at least the minimum age old.

    A token younger than ``web.form_min_age`` is a script's (a person reads and
    types for longer). Rather than answer with a page asking to send again —
    which would have to carry the typed text in the answer to a post, and
    Chromium keeps those bodies on disk — the server waits out the remainder,
    which costs a flooder the same time and a person nothing.
    """
    s = request.app[SERVICES]
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden(M.FORM_EXPIRED)
    form = await read_form(request, limits(s))
    token = csrf.check(s.secret, cookie(request, csrf.COOKIE), form.get("csrf_token") or None,
                       s.config["web.csrf_max_age"])
    if isinstance(token, str):
        get_logger("hotline.web").info("csrf.refused", reason=token)
        raise Forbidden(M.FORM_EXPIRED)
    wait = token.wait(s.config["web.form_min_age"])
    if wait > 0:
        get_logger("hotline.web").info("form.too_early", waited=round(wait, 2))
        await asyncio.sleep(wait)
    return _Post(form, token, lang_of(request, form))


def _token_expiry(s: Services, token: csrf.FormToken) -> int:
    return int(token.issued + s.config["web.csrf_max_age"]) + 60


# -- the report and its receipt ---------------------------------------------------


async def form_page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    return page(request, "form.html", lang, errors=problem_text(request, lang), text="")


@reporter_post("/")
async def submit_report(request: web.Request) -> web.StreamResponse:
    s = request.app[SERVICES]
    post = await _checked_form(request)
    key, now = post.token.used_key(s.secret), int(time.time())
    text = clean_message(post.form.get("message"), limits(s).max_chars)
    draw = Draw()  # every random byte of this report, from one read (hotline/entropy.py)
    entropy = receipts.new_entropy(draw)
    window, expiry = int(s.config["web.resubmit_window"]), _token_expiry(s, post.token)

    def mark_for(urgency: Urgency) -> StoreHook:
        """The receipt box sealed here, on the event loop; the hook only writes the row."""
        flag = bytes([_URGENT if urgency >= Urgency.HIGH else _CALM])
        box = sealed.seal_for_token(s.secret, post.token.text, flag + entropy, rng=draw)

        def mark(conn: sqlite3.Connection, _tip: TipId, _message: MessageId) -> None:
            """In the message's transaction: spend the token, keep the receipt for a resend.

            The used set is checked here, in the write, not read before it: a token
            already spent rolls this message back (one thread hop fewer per report;
            a replay costs the work of a post, as a fresh form would)."""
            if not used_once.mark_used(conn, key, expiry, now, box, now + window):
                raise _TokenSpent
        return mark

    try:
        result: IntakeResult | None = await s.intake.submit(
            Inbound(channel=Channel.WEB, text=text, lang=post.lang,
                    receipt=derive_receipt_keys(entropy), attachments=tuple(post.form.attachments),
                    external_id="web-form:" + post.token.nonce),
            hook_for=mark_for, rng=draw)
    except _TokenSpent:
        result = None
    if result is None or result.duplicate:  # sent before, or the same form raced in twice
        _, box = await used_once.find(s.db, key, now)
        return _receipt_again(request, s, post, box)
    return _to_receipt(s, post.lang, entropy, result.urgency >= Urgency.HIGH, window, rng=draw)


class _TokenSpent(Exception):
    """The form's token is in the used set already: nothing of this post is stored."""


def _to_receipt(s: Services, lang: str, entropy: bytes, urgent: bool, window: int,
                rng: Callable[[int], bytes] = os.urandom, **query: str) -> web.Response:
    answer = see_other("/receipt", lang, **query)
    value = sealed.seal(s.secret, sealed.RECEIPT_LABEL, entropy, lang, int(time.time()) + window,
                        urgent=urgent, rng=rng)
    set_cookie(answer, sealed.RECEIPT_COOKIE, value, path="/receipt", secure=secure(s))
    return answer


def _receipt_again(request: web.Request, s: Services, post: _Post,
                   box: bytes | None) -> web.Response:
    """A form sent twice: nothing new is stored; show the first send's receipt if we still can."""
    get_logger("hotline.web").info("report.resubmitted", receipt_again=box is not None)
    opened = sealed.open_for_token(s.secret, post.token.text, box) if box is not None else None
    if opened is None:
        return see_other("/receipt", post.lang, again="1")
    return _to_receipt(s, post.lang, opened[1:], opened[0] == _URGENT,
                       int(s.config["web.resubmit_window"]), again="1")


async def receipt_page(request: web.Request) -> web.Response:
    """Shows a receipt once: the sealed cookie is spent here and cleared."""
    s = request.app[SERVICES]
    lang = lang_of(request)
    again = request.query.get("again") == "1"
    value = cookie(request, sealed.RECEIPT_COOKIE)
    opened = sealed.unseal(s.secret, sealed.RECEIPT_LABEL, value)
    shown = False
    if opened is not None and value is not None:
        key = s.secret.hash(_RECEIPT_VIEW_USED, value.encode())
        now = int(time.time())
        shown = await s.db.write(lambda conn: used_once.mark_used(conn, key, opened.expires, now))
    if not shown or opened is None:
        response = page(request, "receipt_gone.html", lang, again=again)
    else:
        response = page(request, "receipt.html", opened.lang,
                        receipt_words=receipts.encode(opened.entropy, opened.lang),
                        urgent=opened.urgent, again=again)
    if value is not None:
        response.del_cookie(sealed.RECEIPT_COOKIE, path="/receipt")
    return response


# -- follow-up --------------------------------------------------------------------


async def followup_page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    errors = problem_text(request, lang)
    return page(request, "followup.html", lang, error=errors[0] if errors else None,
                notice=_notice(request, lang))


def _notice(request: web.Request, lang: str) -> str | None:
    """The ``?n=`` outcome in the reporter's words (a deletion says after how long)."""
    text = translated(request, lang, NOTICES, request.query.get("n"))
    if text is None:
        return None
    grace = request.app[SERVICES].config["ops.deletion_grace"]
    return text.replace("{delay}", duration_words(lang, grace))


@dataclass(frozen=True)
class _Thread:
    tip_id: TipId
    reply_keys: ReplyKeyPair


async def _find_thread(s: Services, entropy: bytes | None, *, typed: bool = True) -> _Thread | None:
    """Same work for a malformed, unknown or valid receipt; None unless valid.

    A typed receipt goes through the global budget (hotline.ratelimit,
    counted in the database for every front end): a failure slot is reserved
    before the lookup and given back on success; once the minute's slots are
    spent the lookup waits its turn in the slow lane instead of being
    refused. A receipt from the sealed
    conversation cookie (``typed=False``) skips the budget: only this server
    can seal one, and only after that receipt was found.
    """
    reserved: int | None = None  # the budget minute this lookup reserved a failure in
    if typed:
        try:
            reserved = await s.receipt_limit.admit()
        except Strained:
            raise TooManyRequests(M.TOO_MANY_TRIES) from None
    keys = derive_receipt_keys(entropy if entropy is not None else _DUMMY_ENTROPY)
    # Under every secret version; a match under an old one is rewritten (rotation).
    row = await find_tip(s.db, s.secret, RECEIPT_LABEL, keys.lookup_id, "receipt_lookup")
    if entropy is None or row is None:
        return None
    if reserved is not None:
        await s.receipt_limit.refund(reserved)
    return _Thread(TipId(row["id"]), keys.reply)


@reporter_post("/followup")
async def open_thread(request: web.Request) -> web.StreamResponse:
    """A receipt typed in: open the conversation for a while, by a sealed cookie."""
    s = request.app[SERVICES]
    post = await _checked_form(request)
    entropy = receipts.decode(post.form.get("receipt"))
    if await _find_thread(s, entropy) is None or entropy is None:
        raise NotFound(M.RECEIPT_NOT_FOUND)
    answer = see_other("/followup/thread", post.lang)
    value = sealed.seal(s.secret, sealed.THREAD_LABEL, entropy, post.lang,
                        int(time.time() + s.config["web.followup_session"]))
    set_cookie(answer, sealed.THREAD_COOKIE, value, path="/followup", secure=secure(s))
    return answer


async def _cookie_thread(request: web.Request, grace: float = 0) -> tuple[_Thread, str] | None:
    s = request.app[SERVICES]
    opened = sealed.unseal(s.secret, sealed.THREAD_LABEL, cookie(request, sealed.THREAD_COOKIE),
                           now=time.time() - grace)
    if opened is None:
        return None
    thread = await _find_thread(s, opened.entropy, typed=False)
    return (thread, opened.lang) if thread is not None else None


def _ended(request: web.Request, lang: str) -> web.Response:
    answer = see_other("/followup", lang, problem="ended")
    answer.del_cookie(sealed.THREAD_COOKIE, path="/followup")
    return answer


async def thread_page(request: web.Request) -> web.StreamResponse:
    s = request.app[SERVICES]
    found = await _cookie_thread(request)
    if found is None:
        return _ended(request, lang_of(request))
    thread, lang = found
    lang = lang_of(request) if request.query.get("lang") else lang
    entries = await thread_entries(s, thread, lang)
    return page(request, "thread.html", lang, entries=entries, errors=problem_text(request, lang),
                notice=_notice(request, lang),
                deletion_allowed=s.config["ops.reporter_deletion"],
                deletion_delay=duration_words(lang, s.config["ops.deletion_grace"]))


@reporter_post("/followup/thread")
async def add_to_thread(request: web.Request) -> web.StreamResponse:
    s = request.app[SERVICES]
    post = await _checked_form(request)
    # A page opened just before the conversation closed may still send what was typed in it.
    found = await _cookie_thread(request, grace=s.config["web.csrf_max_age"])
    if found is None:
        if is_navigation(request):
            return _ended(request, post.lang)
        raise NotFound(M.RECEIPT_NOT_FOUND)
    thread, _ = found
    key, now = post.token.used_key(s.secret), int(time.time())
    if (await used_once.find(s.db, key, now))[0]:
        return see_other("/followup/thread", post.lang, n="already")
    text = clean_message(post.form.get("message"), limits(s).max_chars)

    def mark(conn: sqlite3.Connection, _tip: TipId, _message: MessageId) -> None:
        used_once.mark_used(conn, key, _token_expiry(s, post.token), now)

    result = await s.intake.submit(
        Inbound(channel=Channel.WEB, text=text, lang=post.lang, tip_id=thread.tip_id,
                attachments=tuple(post.form.attachments),
                external_id="web-form:" + post.token.nonce),
        with_message=mark)
    return see_other("/followup/thread", post.lang, n="already" if result.duplicate else "added")


@reporter_post("/followup/thread")
async def delete_thread(request: web.Request) -> web.StreamResponse:
    """The reporter asks for their conversation to be deleted: after a grace period.

    The request is durable before the answer (``hotline.deletion``): the
    advocates on the tip are paged, one may hold it, and a message added with
    the receipt before it falls due cancels it; then the retention task shreds
    the tip. The answer says when, and how to stop it, and is the same whether
    it started a request or repeated one; a hold is not the reporter's risk to
    learn about (docs/threat-model.md).
    """
    s = request.app[SERVICES]
    post = await _checked_form(request)
    found = await _cookie_thread(request, grace=s.config["web.csrf_max_age"])
    if found is None:
        raise NotFound(M.RECEIPT_NOT_FOUND)
    if not s.config["ops.reporter_deletion"]:
        raise Forbidden(M.BAD_REQUEST)
    tip_id = found[0].tip_id
    grace = s.config["ops.deletion_grace"]
    new = await request_by_reporter(s.db, tip_id, "web", grace=grace,
                                    default_delay=s.config["paging.default_delay"])
    if new and s.paging is not None:
        s.paging.worker.wake()
    runtime = request.app.get(OPS_RUNTIME)
    if runtime is not None:
        runtime.wake()  # it sleeps until the request falls due
    answer = see_other("/followup", post.lang, n="deleted")
    answer.del_cookie(sealed.THREAD_COOKIE, path="/followup")
    return answer


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


# -- the quick exit -----------------------------------------------------------------


async def quick_exit(request: web.Request) -> web.StreamResponse:
    """Leave for the configured neutral site, clearing what this site left in the browser.

    ``Clear-Site-Data`` drops the cookies (the sealed receipt and conversation
    ones included), storage and cache for this origin. The quick-exit script
    navigates here with ``location.replace``, so the page being left is
    replaced in history too; without JavaScript it is an ordinary link.
    """
    answer = web.Response(status=303, headers={
        "Location": request.app[SERVICES].config["organisation.quick_exit_url"]})
    answer.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    for name, path in ((sealed.THREAD_COOKIE, "/followup"), (sealed.RECEIPT_COOKIE, "/receipt"),
                       (csrf.COOKIE, "/")):
        answer.del_cookie(name, path=path)
    return answer
