"""The voice webhooks: Twilio's request → a stored fact → the TwiML that follows from it.

Every route, each step URL our TwiML names included, passes the same check as
SMS first (Twilio configured, ``X-Twilio-Signature`` over the public URL with
the query, our ``AccountSid``), then reads its form strictly. A fact is
committed before the answer that depends on it goes back, so Twilio (and the
caller) are only ever told what is on disk. No digits, numbers or choices are
logged: only the step, the tip and whether it was a repeat.
"""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from ..errors import BadRequest, Conflict, ServiceUnavailable
from ..logging import get_logger
from ..services import SERVICES
from ..twilio.runtime import TwilioServices
from ..twilio.webhook import verified_form
from . import ivr as tree
from .calls import CallRef
from .forms import (
    CALL_ENDED,
    parse_call,
    parse_call_status,
    parse_dial,
    parse_digits,
    parse_recording,
    parse_step,
    parse_transcription,
)
from .runtime import VoiceRuntime

NOT_CONFIGURED = ("Twilio is not configured: set HOTLINE_TWILIO_ACCOUNT_SID and "
                  "HOTLINE_TWILIO_AUTH_TOKEN")


def add_routes(app: web.Application) -> None:
    """Add the voice webhook routes: ``POST /twilio/voice`` and the steps its TwiML names."""
    app.router.add_post(tree.INCOMING, incoming)
    app.router.add_post(tree.LANGUAGE, language)
    app.router.add_post(tree.MENU, menu)
    app.router.add_post(tree.DIAL, dial)
    app.router.add_post(tree.RECORDED, recorded)
    app.router.add_post(tree.RECORDING_STATUS, recording_status)
    app.router.add_post(tree.TRANSCRIPTION, transcription)
    app.router.add_post(tree.STATUS, call_status)


async def _verified(request: web.Request) -> tuple[VoiceRuntime, MultiDictProxy[str]]:
    s = request.app[SERVICES]
    tw: TwilioServices | None = s.twilio
    if tw is None:
        raise ServiceUnavailable(NOT_CONFIGURED)
    form = await verified_form(request, public_url=s.config["service.public_url"],
                               auth_token=tw.auth_token, account_sid=tw.account_sid,
                               logger="hotline.voice", metrics=s.metrics)
    return tw.voice, form


def _twiml(xml: str) -> web.Response:
    return web.Response(text=xml, content_type="text/xml")


def _log(step: str, ref: CallRef | None, **kw: object) -> None:
    get_logger("hotline.voice").info("voice.step", stage=step,
                                     tip=ref.tip_id if ref else None, **kw)


async def incoming(request: web.Request) -> web.Response:
    """The call arrives: it is a tip from this moment, then the advice and language menu."""
    voice, form = await _verified(request)
    ref = await voice.calls.started(parse_call(form))
    _log("incoming", ref)
    return _twiml(voice.ivr.welcome())


async def _choose(voice: VoiceRuntime, ref: CallRef, call_sid: str, step: tree.Step,
                  attempt: int) -> web.Response:
    """Record the menu choice (sealed), then ring the advocates or record a message."""
    assert step.choice is not None
    order = await voice.ring_order() if step.choice in (tree.TALK, tree.DANGER) else []
    meta = {"event": "choice", "choice": step.choice, "language": step.lang,
            "menu_attempts": str(attempt)}
    if step.choice in (tree.TALK, tree.DANGER):
        meta["advocates_to_ring"] = str(len(order))
    await voice.calls.fact(ref, f"{call_sid}/choice", meta,
                           urgency_floor=tree.URGENCY_OF[step.choice])
    _log("choice", ref)
    if step.choice in (tree.TALK, tree.DANGER):
        return _twiml(voice.ivr.ring(step.lang, step.choice, [r.advocate_id for r in order], 0,
                                     order[0] if order else None, first=True))
    return _twiml(step.twiml)


async def language(request: web.Request) -> web.Response:
    voice, form = await _verified(request)
    call, digits = parse_call(form), parse_digits(form)
    q = parse_step(request.query, voice.ivr.languages)
    ref = await voice.calls.started(call)
    step = voice.ivr.language(q.attempt, digits)
    if step.choice is not None:  # no language chosen, twice: voicemail
        return await _choose(voice, ref, call.call_sid, step, q.attempt)
    return _twiml(step.twiml)


async def menu(request: web.Request) -> web.Response:
    voice, form = await _verified(request)
    call, digits = parse_call(form), parse_digits(form)
    q = parse_step(request.query, voice.ivr.languages)
    ref = await voice.calls.started(call)
    step = voice.ivr.menu(q.lang or voice.ivr.default_lang, q.attempt, digits)
    if step.choice is None:  # no key or a wrong one: the menu again
        return _twiml(step.twiml)
    return await _choose(voice, ref, call.call_sid, step, q.attempt)


async def dial(request: web.Request) -> web.Response:
    """One advocate's phone stopped ringing: record how, then the next one or voicemail."""
    voice, form = await _verified(request)
    call, result = parse_call(form), parse_dial(form)
    q = parse_step(request.query, voice.ivr.languages)
    if not q.order or q.choice not in (tree.TALK, tree.DANGER):
        raise BadRequest("the dial step has no order or choice")
    lang = q.lang or voice.ivr.default_lang
    ref = await voice.calls.started(call)
    rung = await voice.ringable(q.order[q.index])
    meta = {"event": "dial", "attempt": str(q.index + 1), "advocate_id": str(q.order[q.index]),
            "advocate": rung.name if rung else "(no longer reachable)",
            "outcome": result.status, "answered": "yes" if result.answered else "no"}
    if result.duration is not None:
        meta["talk_seconds"] = str(result.duration)
    await voice.calls.fact(ref, f"{call.call_sid}/dial/{q.index}", meta)
    _log("dial", ref)
    if result.answered or result.status == "canceled":  # talked, or the caller hung up
        return _twiml(voice.ivr.hangup())
    for index in range(q.index + 1, len(q.order)):
        who = await voice.ringable(q.order[index])
        if who is not None:
            return _twiml(voice.ivr.ring(lang, q.choice, q.order, index, who, first=False))
    return _twiml(voice.ivr.ring(lang, q.choice, q.order, 0, None, first=False))


async def recorded(request: web.Request) -> web.Response:
    """The ``<Record>`` action: the caller is done; the file may not be ready yet."""
    voice, form = await _verified(request)
    call, rec = parse_call(form), parse_recording(form, status_callback=False)
    q = parse_step(request.query, voice.ivr.languages)
    lang = q.lang or voice.ivr.default_lang
    ref = await voice.calls.started(call)
    await voice.voicemail.announce(rec, ref, lang, ready=False)
    _log("recorded", ref)
    return _twiml(voice.ivr.goodbye(lang))


async def recording_status(request: web.Request) -> web.Response:
    """``recordingStatusCallback``: the file is ready (or there is none)."""
    voice, form = await _verified(request)
    rec = parse_recording(form, status_callback=True)
    q = parse_step(request.query, voice.ivr.languages)
    ref = await voice.calls.find(rec.call_sid)
    if rec.status == "completed":
        await voice.voicemail.announce(rec, ref, q.lang, ready=True)
    elif rec.status in ("absent", "failed"):
        await voice.voicemail.absent(rec)
    _log("recording_status", ref, status=rec.status)
    return web.Response(status=204)


async def transcription(request: web.Request) -> web.Response:
    """Twilio's text of a voicemail: a message the triage rules read (only if turned on)."""
    voice, form = await _verified(request)
    if not voice.ivr.transcribe:
        raise Conflict("transcription is turned off here (voice.transcribe)")
    t = parse_transcription(form)
    ref = await voice.calls.find(t.call_sid)
    if t.completed:
        await voice.calls.fact(ref, t.transcription_sid, {"event": "transcription"}, text=t.text)
    _log("transcription", ref, stored=t.completed)
    return web.Response(status=204)


async def call_status(request: web.Request) -> web.Response:
    """The number's call status callback: how and after how long the call ended."""
    voice, form = await _verified(request)
    end = parse_call_status(form)
    # Only calls to the hotline are reports; a status of a call we placed (a page,
    # an advocate's leg of a <Dial>) is not a caller's.
    if end.status not in CALL_ENDED or form.get("Direction", "inbound") != "inbound":
        return web.Response(status=204)
    ref = await voice.calls.started(parse_call(form))
    meta = {"event": "call_end", "status": end.status}
    if end.duration is not None:
        meta["call_seconds"] = str(end.duration)
    await voice.calls.fact(ref, f"{end.call_sid}/end", meta)
    _log("call_end", ref)
    return web.Response(status=204)
