"""Hostile or broken requests to every voice URL: a clear 4xx, a log line
without content, nothing stored. The form parsers under Hypothesis."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from hotline.errors import BadRequest
from hotline.voice import forms
from tests.helpers.twilio_fake import FakeTwilio, sid, sign
from tests.twilio.conftest import SmsLive
from tests.voice.conftest import CALLER, TwilioCall

PATHS = ["/twilio/voice", "/twilio/voice/language?try=1", "/twilio/voice/menu?lang=en&try=1",
         "/twilio/voice/dial?lang=en&choice=talk&order=1&n=0", "/twilio/voice/recorded?lang=en",
         "/twilio/voice/recording?lang=en", "/twilio/voice/transcription", "/twilio/voice/status"]


async def test_unsigned_forged_or_foreign_requests_are_refused(voice: SmsLive) -> None:
    """Every voice URL, one server (each start costs the suite a second)."""
    for path in PATHS:
        await _refused_everywhere(voice, path)


async def _refused_everywhere(voice: SmsLive, path: str) -> None:
    call = TwilioCall(voice)
    url = voice.public_url + path
    form = {**call.params(), "Digits": "1"}
    with capture_logs() as logs:
        missing = await call.post(url, form, signature="")
        forged = await call.post(url, form, signature=sign("not-the-token", url, form))
        other = await call.post(url, {**form, "AccountSid": sid("AC")})
        # a valid signature for another step's URL does not open this one
        moved = await call.post(url, form, sign_url=voice.public_url + "/twilio/voice/elsewhere")
    assert [s for s, _ in (missing, forged, other, moved)] == [403, 403, 403, 403], path
    assert "not signed" in missing[1] and "signature is not valid" in forged[1]
    assert "another Twilio account" in other[1]
    refused = [e for e in logs if e["event"] == "twilio.refused"]
    assert [e["reason"] for e in refused] == ["missing_signature", "bad_signature",
                                              "wrong_account", "bad_signature"]
    assert CALLER not in repr(logs) and call.call_sid not in repr(logs)
    assert voice.count("messages") == 0 and voice.count("twilio_jobs") == 0


async def test_a_tampered_step_query_breaks_the_signature(voice: SmsLive) -> None:
    call = TwilioCall(voice)
    await call.start()
    await call.press("1")
    t = await call.press("2")  # the Record answer; its action carries lang=en
    action = call.record_verb().get("action", "")
    form = {**call.params(), "RecordingSid": sid("RE"), "RecordingDuration": "3"}
    status, _ = await call.post(action.replace("lang=en", "lang=es"), form, sign_url=action)
    assert status == 403 and "Record" in t.verbs()


async def test_wrong_content_type_and_oversized_forms(voice: SmsLive) -> None:
    url = voice.url + "/twilio/voice"
    async with voice.session.post(url, json={"CallSid": sid("CA")},
                                  headers={"X-Twilio-Signature": "x"}) as r:
        assert r.status == 415
    body = "From=" + "1" * 70_000
    async with voice.session.post(url, data=body, headers={
            "X-Twilio-Signature": "x", "Content-Type": "application/x-www-form-urlencoded"}) as r:
        assert r.status == 413


MALFORMED = [
    ("/twilio/voice", {"CallSid": "CA123"}, "CallSid"),
    ("/twilio/voice", {"CallSid": ""}, "CallSid"),
    ("/twilio/voice/menu?lang=en&try=1", {"Digits": "1; DROP"}, "Digits"),
    ("/twilio/voice/menu?lang=en&try=3", {"Digits": "1"}, "try"),
    ("/twilio/voice/menu?lang=xx&try=1", {"Digits": "1"}, "lang"),
    ("/twilio/voice/recorded?lang=en", {"RecordingSid": "RE-nope"}, "RecordingSid"),
    ("/twilio/voice/recorded?lang=en", {"RecordingDuration": "ten"}, "RecordingDuration"),
    ("/twilio/voice/recording?lang=en", {"RecordingStatus": "lost"}, "RecordingStatus"),
    ("/twilio/voice/status", {"CallStatus": "exploded"}, "CallStatus"),
]


async def test_malformed_forms_get_a_400_naming_the_field(voice: SmsLive) -> None:
    for path, change, field in MALFORMED:
        call = TwilioCall(voice)
        form = {**call.params(), "RecordingSid": sid("RE"), "RecordingDuration": "3",
                "RecordingStatus": "completed", **change}
        if "CallSid" in change:
            form = {k: v for k, v in form.items() if k != "CallSid" or change["CallSid"]}
        with capture_logs() as logs:
            status, body = await call.post(voice.public_url + path, form)
        assert status == 400 and field in body, (path, body)
        assert "DROP" not in body and "DROP" not in repr(logs)
        assert voice.count("messages") == 0


async def test_transcriptions_are_refused_while_transcription_is_off(voice: SmsLive) -> None:
    call = TwilioCall(voice)
    await call.start()
    status, body = await call.transcription(sid("RE"), "hello",
                                            url=voice.public_url + "/twilio/voice/transcription")
    assert status == 409 and "voice.transcribe" in body
    assert voice.count("messages") == 1


async def test_without_twilio_the_voice_urls_say_so(tmp_path: Path, live) -> None:  # type: ignore[no-untyped-def]
    import aiohttp

    async with aiohttp.ClientSession() as s, s.post(live.url + "/twilio/voice", data={"a": "b"},
                                                    headers={"X-Twilio-Signature": "x"}) as r:
        assert r.status == 503 and "Twilio is not configured" in await r.text()


# -- the parsers, under Hypothesis --------------------------------------------------

_names = st.sampled_from(["CallSid", "From", "Digits", "DialCallStatus", "DialCallDuration",
                          "RecordingSid", "RecordingDuration", "RecordingStatus", "CallStatus",
                          "CallDuration", "TranscriptionSid", "TranscriptionStatus",
                          "TranscriptionText", "FromCity"])
_forms = st.dictionaries(_names, st.text(max_size=40).map(lambda t: "zq" + t) | st.sampled_from(
    ["CA" + "a" * 32, "RE" + "b" * 32, "TR" + "c" * 32, "completed", "busy", "-1", "12",
     "+14155550100", "anonymous", "1", "#", "hangup"]), max_size=14)
PARSERS = [forms.parse_call, forms.parse_digits, forms.parse_dial, forms.parse_call_status,
           forms.parse_transcription,
           lambda f: forms.parse_recording(f, status_callback=True),
           lambda f: forms.parse_recording(f, status_callback=False)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_forms)
def test_parsers_accept_or_refuse_with_bad_request_only(form: dict[str, str]) -> None:
    for parse in PARSERS:
        try:
            value = parse(form)
        except BadRequest as e:
            assert all(v not in e.public_message for v in form.values() if v.startswith("zq"))
            continue
        if not isinstance(value, str):  # a traceback shows no number, no text
            assert "+14155550100" not in repr(value) and "zq" not in repr(value)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["lang", "try", "choice", "order", "n"]),
                       st.text(max_size=30) | st.from_regex(r"[0-9]{1,3}(-[0-9]{1,3}){0,3}",
                                                            fullmatch=True), max_size=5))
def test_step_query_parser(query: dict[str, str]) -> None:
    try:
        q = forms.parse_step(query, ("en", "es"))
    except BadRequest:
        return
    assert q.lang in (None, "en", "es") and q.attempt in (1, 2)
    assert 0 <= q.index < max(1, len(q.order))


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_e164_numbers_thread_and_withheld_ones_do_not(number: str) -> None:
    assert forms.caller_number(number) == number
    for withheld in forms.WITHHELD:
        assert forms.caller_number(withheld) is None
    assert forms.caller_number("client:alice") is None


def test_fake_twilio_type_is_importable() -> None:
    assert FakeTwilio  # the stand-in is shared with the SMS tests
