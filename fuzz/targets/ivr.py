"""Fuzz the IVR's inputs: Twilio's voice webhook forms and our own signed step queries.

Input layout: the first line is the step URL's query string (as aiohttp hands
it to the route, ``request.query``); the rest is the form-encoded body
(read with the webhook's ``parse_form``).

Contract: every parser in ``hotline.voice.forms`` returns a typed value or
raises ``BadRequest``; the IVR's decisions (``Ivr.language``, ``Ivr.menu``,
``Ivr.ring``) never raise for parsed input. Properties: accepted keys are only
``0-9*#``; an accepted caller number is E.164 or withheld (``None``); SIDs
have their prefix and 32 hex digits; the dial step URL that ``Ivr.ring``
writes parses back to the same order and index.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from fuzz.harness import fuzz_main, instrumented, require

with instrumented(__name__):
    from multidict import MultiDict, MultiDictProxy
    from yarl import URL

    from hotline.errors import BadRequest
    from hotline.twilio.webhook import parse_form
    from hotline.voice import forms
    from hotline.voice.ivr import DANGER, TALK, Ivr, Ring
    from hotline.voice.settings import DEFAULT_PROMPTS, LANGUAGES, PROMPT_NAMES, prompt_key

IVR = Ivr(public_url="https://hotline.example.org", hotline_number="+15005550006", emergency="112",
          languages=LANGUAGES,
          prompts={prompt_key(n, lang): DEFAULT_PROMPTS[lang][n] for lang in LANGUAGES for n in PROMPT_NAMES},
          tts={"en": "en-US", "es": "es-US"}, danger_option=True, gather_timeout=6, dial_timeout=20,
          max_recording=180, transcribe=True)
P = ParamSpec("P")
T = TypeVar("T")
_DIGITS = re.compile(r"[0-9*#]*")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")


def _refused(parse: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """``parse(*args)``, or None when it refused with BadRequest (the contract)."""
    try:
        return parse(*args, **kwargs)
    except BadRequest:
        return None


def check_form(form: MultiDictProxy[str]) -> str | None:
    call = _refused(forms.parse_call, form)
    if call is not None:
        require(bool(_SID.fullmatch(call.call_sid)) and call.call_sid.startswith("CA"), "CallSid accepted")
        require(call.sender is None or bool(_E164.fullmatch(call.sender)), "a From that is not E.164")
    digits = _refused(forms.parse_digits, form)
    if digits is not None:
        require(bool(_DIGITS.fullmatch(digits)) and len(digits) <= 20, "Digits with other characters")
    _refused(forms.parse_dial, form)
    for status_callback in (False, True):
        recording = _refused(forms.parse_recording, form, status_callback=status_callback)
        if recording is not None:
            require(bool(_SID.fullmatch(recording.recording_sid)), "a malformed RecordingSid accepted")
            require(recording.duration is None or recording.duration >= 0, "a negative duration")
    _refused(forms.parse_call_status, form)
    _refused(forms.parse_transcription, form)
    return digits


def check_step(query: MultiDictProxy[str], digits: str | None) -> None:
    step = _refused(forms.parse_step, query, IVR.languages)
    if step is None:
        return
    lang = step.lang or IVR.default_lang
    if digits is not None:
        for decided in (IVR.language(step.attempt, digits), IVR.menu(lang, step.attempt, digits)):
            require(decided.lang in IVR.languages, "the IVR chose a language it does not offer")
    if step.order and step.index < len(step.order):
        choice = step.choice if step.choice in (TALK, DANGER) else TALK
        who = Ring(step.order[step.index], "advocate", "+15551230001")
        twiml = IVR.ring(lang, choice, step.order, step.index, who, first=step.index == 0)
        action = re.search(r'action="([^"]*)"', twiml)
        require(action is not None, "the dial TwiML has no action")
        assert action is not None  # for mypy
        url = action.group(1).replace("&amp;", "&")
        again = forms.parse_step(URL(urlsplit(url).path + "?" + urlsplit(url).query).query, IVR.languages)
        require((again.order, again.index, again.lang) == (step.order, step.index, lang),
                "the dial step URL does not parse back to the same order")


def check(data: bytes) -> None:
    query_line, _, body = data.partition(b"\n")
    try:
        form = parse_form(body)
    except BadRequest:
        form = MultiDictProxy(MultiDict())
    digits = check_form(form)
    try:  # what aiohttp does with the request target's query
        query = URL("/twilio/voice/dial?" + query_line.decode("latin-1")).query
    except ValueError:
        return
    check_step(query, digits)


if __name__ == "__main__":
    fuzz_main(check)
