"""The SMS/MMS/WhatsApp channel: Twilio's webhook ↔ ``Inbound``, TwiML out.

Order of work for ``POST /twilio/sms``, each step refusing before the next:

1. Twilio configured? (503 otherwise, saying so)
2. ``X-Twilio-Signature`` present and valid over ``HOTLINE_PUBLIC_URL`` + path
   + query, and the form's ``AccountSid`` is ours (403, nothing processed)
3. a carrier keyword (STOP/START/HELP…) is Twilio's business: it never makes
   a tip; in a known thread it is recorded, so advocates see it
4. a MessageSid already stored (Twilio retried): nothing is stored again
5. media downloaded now; what fails is kept for retry by the job worker
   (an active advocate's number texting an open page's code acknowledges it
   and stops there: never a tip)
6. one ``intake.submit``; the follow-up jobs and the auto-reply claim commit in
   the same transaction as the message
7. only then the TwiML answer: the automatic reply, once per window (a retried
   MessageSid gets the answer its first delivery got, read, never claimed again)

No storage code here: the channel asks the Twilio services and the intake.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Mapping

from aiohttp import web
from multidict import MultiDictProxy
from twilio.twiml.messaging_response import MessagingResponse

from ..deletion import request_by_reporter
from ..domain import Channel, TipId
from ..errors import BadRequest, ServiceUnavailable
from ..intake import THREAD_LABEL, Inbound, InboundAttachment
from ..logging import get_logger
from ..ops.routes import OPS_RUNTIME
from ..paging.acknowledge import ack_by_sms
from ..services import SERVICES, Services
from ..twilio.jobs import MediaOutcome, attachment_name
from ..twilio.runtime import STATUS_CALLBACK_PATH, TwilioServices
from ..twilio.texts import Keyword, deletion_reply, detect_language, keyword_of, language_keyword
from ..twilio.webhook import (
    IncomingMessage,
    is_sid,
    parse_incoming,
)
from ..twilio.webhook import verified_form as webhook_verified_form

MAX_WEBHOOK_BYTES = 64 * 1024  # Twilio's forms are a few KB (1,600-char body, 10 media URLs)
NOT_CONFIGURED = ("Twilio is not configured: set HOTLINE_TWILIO_ACCOUNT_SID and "
                  "HOTLINE_TWILIO_AUTH_TOKEN")


def setup_sms(app: web.Application) -> None:
    app.router.add_post("/twilio/sms", incoming_message)
    app.router.add_post(STATUS_CALLBACK_PATH, message_status)


def _twilio(s: Services) -> TwilioServices:
    if s.twilio is None:
        raise ServiceUnavailable(NOT_CONFIGURED)
    return s.twilio


async def verified_form(request: web.Request, s: Services, tw: TwilioServices) -> MultiDictProxy[str]:
    """The webhook's form, only if Twilio signed it for our account (one check for every webhook)."""
    return await webhook_verified_form(request, public_url=s.config["service.public_url"],
                                       auth_token=tw.auth_token, account_sid=tw.account_sid,
                                       logger="hotline.sms", metrics=s.metrics)


@functools.lru_cache(maxsize=16)
def _twiml_text(text: str | None) -> str:
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)


def _twiml(text: str | None) -> web.Response:
    """TwiML ``MessagingResponse``; there are only a few distinct answers, built once each."""
    return web.Response(text=_twiml_text(text), content_type="text/xml")


def _meta(msg: IncomingMessage, outcomes: list[MediaOutcome],
          keyword: Keyword | None) -> dict[str, str]:
    """What the advocate may want to know about the message; sealed, never in clear."""
    meta = {f"twilio_{k.lower()}": v for k, v in msg.location.items()}
    if msg.profile_name:
        meta["whatsapp_profile_name"] = msg.profile_name
    if msg.num_segments:
        meta["num_segments"] = msg.num_segments
    if keyword is not None:
        meta["keyword"] = keyword.value
    if msg.num_media:
        meta["media_announced"] = str(msg.num_media)
    pending = [str(o.ref.index + 1) for o in outcomes if o.retry]
    if pending:
        meta["media_pending"] = ",".join(pending)  # they follow as their own messages
    failed = [f"{o.ref.index + 1}: {o.error.summary}" for o in outcomes
              if o.data is None and not o.retry and o.error is not None]
    if failed:
        meta["media_failed"] = "; ".join(failed)
    return meta


def _inbound(msg: IncomingMessage, outcomes: list[MediaOutcome], lang: str | None,
             keyword: Keyword | None) -> Inbound:
    attachments = tuple(InboundAttachment(attachment_name(o.ref.index, o.ref.content_type),
                                          o.ref.content_type, o.data)
                        for o in outcomes if o.data is not None)
    return Inbound(channel=Channel.WHATSAPP if msg.whatsapp else Channel.SMS, text=msg.body,
                   lang=lang, sender=msg.sender, external_id=msg.message_sid,
                   attachments=attachments, meta=_meta(msg, outcomes, keyword))


async def incoming_message(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    tw = _twilio(s)
    form = await verified_form(request, s, tw)
    msg = parse_incoming(form, max_media=s.config["sms.max_media"])
    log = get_logger("hotline.sms")
    if not msg.media and not msg.whatsapp:  # an advocate answering a page is not a report
        answer = await ack_by_sms(s.db, s.metrics, msg.sender, msg.body)
        if answer is not None:
            log.info("sms.page_reply")
            return _twiml(answer)
    channel = "whatsapp" if msg.whatsapp else "sms"
    if (s.config["ops.reporter_deletion"] and not msg.media
            and msg.body.strip().upper() in DELETE_WORDS):
        return await _deletion_request(request, s, msg.sender, msg.body.strip().upper(), channel)
    keyword = keyword_of(msg.body, msg.opt_out_type)
    if keyword is not None and not msg.media:
        recorded = await tw.conversations.has_thread(msg.sender)
        if recorded:
            await s.intake.submit(_inbound(msg, [], None, keyword))
        log.info("sms.keyword", channel=channel, keyword=keyword.value, stored=recorded)
        return _twiml(None)  # Twilio answers keywords itself
    # A keyword that came with media is stored like any message, but Twilio answers it.
    auto_reply = bool(s.config["sms.auto_reply"]) and keyword is None
    lang_keyword = language_keyword(msg.body)
    lang = lang_keyword or detect_language(msg.body)
    claim = tw.conversations.claim_keys(msg.sender, msg.message_sid, force=lang_keyword is not None)
    # A retried MMS is caught before its media is downloaded again; a plain SMS is
    # caught by the intake itself (one read less on the common path). A retry only
    # reads whether its first delivery won the reply: it never claims one.
    if msg.media and await tw.conversations.has_message(msg.message_sid):
        reply = auto_reply and await tw.conversations.won(claim)
        log.info("sms.received", channel=channel, duplicate=True, auto_reply=reply)
        return _twiml(tw.texts.text(lang) if reply else None)

    outcomes = await tw.fetch_media(msg)
    record_jobs = tw.jobs.plan(msg.message_sid, outcomes)  # None: no follow-up work
    claimed: list[bool] = []

    def with_message(conn: sqlite3.Connection, tip_id: TipId, message_id: str) -> None:
        if record_jobs is not None:
            record_jobs(conn, tip_id, message_id)
        if auto_reply:
            claimed.append(tw.conversations.claim_in(conn, claim))

    result = await s.intake.submit(
        _inbound(msg, outcomes, lang, keyword),
        with_message=with_message if record_jobs is not None or auto_reply else None)
    if record_jobs is not None and not result.duplicate:
        tw.jobs.wake()  # only for jobs this message recorded: a wake is a claim write
    if result.duplicate and auto_reply:  # a retry: stored before, or meanwhile by a concurrent one
        claimed.append(await tw.conversations.won(claim))
    reply = bool(claimed and claimed[0])
    log.info("sms.received", tip=result.tip_id, channel=channel, new_tip=result.new_tip,
             duplicate=result.duplicate, attachments=sum(o.data is not None for o in outcomes),
             pending=sum(o.retry for o in outcomes), auto_reply=reply)
    return _twiml(tw.texts.text(lang) if reply else None)


DELETE_WORDS = {"DELETE": "en", "BORRAR": "es", "ELIMINAR": "es"}


async def _deletion_request(request: web.Request, s: Services, sender: str, word: str,
                            via: str) -> web.Response:
    """A reporter asks for their own thread to go: recorded, never stored as a message.

    Not at once (``hotline.deletion``): the phone may be in someone else's
    hands, or the number spoofed. The tip is shredded after the grace period
    unless the reporter writes again or an advocate (paged now) holds it. The
    answer is the same for a request, a repeat and a number we have never
    seen, so it tells a phone's other reader nothing, and it never mentions
    advocates or holds (see docs/threat-model.md). With ``ops.reporter_deletion``
    off, the word is an ordinary message: no reply promises a deletion.
    """
    found = False
    grace = s.config["ops.deletion_grace"]
    for h in s.secret.hashes(THREAD_LABEL, sender.encode()):
        row = await s.db.fetchone("SELECT id FROM tips WHERE thread_hash = ?", (h,))
        if row is not None:
            found = await request_by_reporter(
                s.db, row["id"], via, grace=grace, default_delay=s.config["paging.default_delay"])
            if found and s.paging is not None:
                s.paging.worker.wake()
            runtime = request.app.get(OPS_RUNTIME)
            if runtime is not None:
                runtime.wake()  # it sleeps until the request falls due
            break
    get_logger("hotline.sms").info("sms.deletion_request", stored=found)
    return _twiml(deletion_reply(DELETE_WORDS[word], grace))


def _status_fields(form: Mapping[str, str]) -> tuple[str, str, str | None]:
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if not is_sid(sid) or not status.isalpha() or len(status) > 20:
        raise BadRequest("the status callback has no valid MessageSid or MessageStatus")
    return sid, status, form.get("ErrorCode") or None


async def message_status(request: web.Request) -> web.Response:
    """Twilio's status callback for a reply we sent (delivered / undelivered)."""
    s = request.app[SERVICES]
    tw = _twilio(s)
    sid, status, error_code = _status_fields(await verified_form(request, s, tw))
    await tw.outbox.status_callback(sid, status, error_code)
    return web.Response(status=204)
