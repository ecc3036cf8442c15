"""The IVR as a caller meets it, driven as Twilio drives it: every menu path in
English and Spanish, no input, hang-up mid-menu, and what each leaves on the tip."""

from __future__ import annotations

import pytest

from tests.twilio.conftest import HOTLINE_NUMBER, SmsLive
from tests.voice.conftest import (
    ALICE_PHONE,
    CALLER,
    TwilioCall,
    events,
    messages_of_only_tip,
)


async def test_a_call_opens_with_english_advice_then_the_language_menu(voice: SmsLive) -> None:
    call = TwilioCall(voice)
    t = await call.start()
    assert t.verbs() == ["Say", "Gather", "Redirect"]
    said = t.said()
    assert said[0][0] == "en-US" and "911" in said[0][1]
    assert said[1] == ("en-US", "For English, press 1.")
    assert said[2] == ("es-US", "Para español, marque 2.")
    g = t.first("Gather")
    assert g is not None and g.get("numDigits") == "1" and g.get("input") == "dtmf"
    assert g.get("action", "").startswith(voice.public_url + "/twilio/voice/language")
    # the call is a tip already, before any key: the number sealed, never in clear
    tip, [m] = await messages_of_only_tip(voice)
    assert tip["channel"] == "voice" and tip["urgency"] == "normal"
    assert m["sender"] == CALLER and m["body"] == "" and m["meta"]["event"] == "call"
    assert m["meta"]["twilio_fromcity"] == "OAKLAND"


@pytest.mark.parametrize(("lang_key", "tts", "word"), [("1", "en-US", "advocate"),
                                                       ("2", "es-US", "apoyo")])
async def test_press_2_leaves_a_message_in_the_chosen_language(
        voice: SmsLive, lang_key: str, tts: str, word: str) -> None:
    call = TwilioCall(voice)
    await call.start()
    t = await call.press(lang_key)
    assert word in " ".join(text for _, text in t.said()) and {lang for lang, _ in t.said()} == {tts}
    if lang_key == "2":  # Spanish callers get the advice again, in Spanish
        assert "911" in t.said()[0][1] and "peligro" in t.said()[0][1]
    t = await call.press("2")
    assert t.verbs() == ["Say", "Record", "Say", "Hangup"]
    rec = call.record_verb()
    assert rec.get("maxLength") == "180" and rec.get("finishOnKey") == "#"
    assert rec.get("transcribe") == "false" and rec.get("recordingStatusCallbackEvent")
    assert rec.get("recordingStatusCallback", "").startswith(voice.public_url)
    tip, msgs = await messages_of_only_tip(voice)
    assert events(msgs) == ["call", "choice"]
    assert msgs[1]["meta"]["choice"] == "message"
    assert msgs[1]["meta"]["language"] == ("en" if lang_key == "1" else "es")
    assert tip["urgency"] == "normal"


async def test_press_1_rings_the_on_call_advocate_with_the_hotline_number(voice: SmsLive) -> None:
    call = TwilioCall(voice)
    await call.start()
    await call.press("1")
    t = await call.press("1")
    assert t.verbs() == ["Say", "Dial"]
    d = t.first("Dial")
    assert d is not None and d.get("callerId") == HOTLINE_NUMBER and d.get("answerOnBridge") == "true"
    assert t.dialled == ALICE_PHONE and CALLER not in t.text  # neither side sees the other
    t = await call.dial_result("completed", 95)
    assert t.verbs() == ["Hangup"]
    tip, msgs = await messages_of_only_tip(voice)
    assert events(msgs) == ["call", "choice", "dial"]
    assert tip["urgency"] == "high"  # "speak now" is at least high
    dial = msgs[2]["meta"]
    assert (dial["advocate"], dial["answered"], dial["talk_seconds"], dial["outcome"]) == (
        "alice", "yes", "95", "completed")


async def test_danger_option_is_critical_and_rings(voice: SmsLive) -> None:
    call = TwilioCall(voice)
    await call.start()
    t = await call.press("1")
    assert any("press 3" in text for _, text in t.said())
    t = await call.press("3")
    assert t.dialled == ALICE_PHONE
    tip, msgs = await messages_of_only_tip(voice)
    assert tip["urgency"] == "critical" and msgs[1]["meta"]["choice"] == "danger"


async def test_no_input_repeats_once_then_records(voice: SmsLive) -> None:
    call = TwilioCall(voice)
    await call.start()
    t = await call.press(None)  # language menu, silence: asked again
    assert t.verbs() == ["Gather", "Redirect"] and "try=2" in (t.first("Gather").get("action") or "")  # type: ignore[union-attr]
    t = await call.press("2")  # Spanish
    t = await call.press(None)
    assert "try=2" in (t.first("Gather").get("action") or "")  # type: ignore[union-attr]
    t = await call.press(None)  # silence twice: voicemail, in Spanish
    assert "Record" in t.verbs() and {lang for lang, _ in t.said()} == {"es-US"}
    _, msgs = await messages_of_only_tip(voice)
    assert msgs[1]["meta"]["choice"] == "none" and msgs[1]["meta"]["menu_attempts"] == "2"


async def test_silence_at_the_language_menu_twice_goes_to_voicemail(voice: SmsLive) -> None:
    call = TwilioCall(voice)
    await call.start()
    await call.press(None)
    t = await call.press(None)
    assert "Record" in t.verbs()
    _, msgs = await messages_of_only_tip(voice)
    assert events(msgs) == ["call", "choice"] and msgs[1]["meta"]["choice"] == "none"


async def test_a_wrong_key_is_like_no_key(voice: SmsLive) -> None:
    call = TwilioCall(voice)
    await call.start()
    t = await call.press("7")
    assert "try=2" in (t.first("Gather").get("action") or "")  # type: ignore[union-attr]
    t = await call.press("1")
    t = await call.press("*")
    assert "try=2" in (t.first("Gather").get("action") or "")  # type: ignore[union-attr]


async def test_hang_up_mid_menu_is_still_a_tip_with_how_it_ended(voice: SmsLive) -> None:
    call = TwilioCall(voice)
    await call.start()
    await call.press("1")
    status, _ = await call.hang_up(duration=7)
    assert status == 204
    status, _ = await call.hang_up(duration=7)  # Twilio retried: nothing twice
    assert status == 204
    _, msgs = await messages_of_only_tip(voice)
    assert events(msgs) == ["call", "call_end"]
    assert msgs[1]["meta"]["status"] == "completed" and msgs[1]["meta"]["call_seconds"] == "7"
    assert voice.count("messages") == 2


async def test_repeated_call_webhooks_store_nothing_twice(voice: SmsLive) -> None:
    call = TwilioCall(voice)
    first = await call.start()
    again = await call.start()
    assert first.text == again.text
    await call.press("1")
    t1 = await call.press("1")
    call.last = call.history[-2]  # Twilio retries the same Gather action
    t2 = await call.press("1")
    assert t1.text == t2.text
    assert voice.count("messages") == 2 and voice.count("tips") == 1


async def test_a_second_call_from_the_same_number_joins_its_thread(voice: SmsLive) -> None:
    await TwilioCall(voice).start()
    await TwilioCall(voice).start()
    assert voice.count("tips") == 1 and voice.count("messages") == 2


async def test_withheld_numbers_are_not_threaded_together(voice: SmsLive) -> None:
    await TwilioCall(voice, sender="+266696687").start()
    await TwilioCall(voice, sender="anonymous").start()
    assert voice.count("tips") == 2
    client = await voice.advocate()
    import asyncio
    for tip in await asyncio.to_thread(client.inbox):
        [m] = (await asyncio.to_thread(client.read, tip["id"])).messages
        assert m["sender"] is None and m["meta"]["caller_id"] == "withheld"


async def test_status_of_calls_we_placed_is_not_a_report(voice: SmsLive) -> None:
    call = TwilioCall(voice)
    form = {**call.params("completed"), "Direction": "outbound-api", "CallDuration": "20"}
    status, _ = await call.post(voice.public_url + "/twilio/voice/status", form)
    assert status == 204 and voice.count("tips") == 0
    status, _ = await call.post(voice.public_url + "/twilio/voice/status",
                                {**call.params("ringing")})
    assert status == 204 and voice.count("tips") == 0  # not ended yet: nothing to say
