"""Press 1: the on-call advocates are rung one after another, in the roster's
order, with the hotline's number as caller ID; nobody answers → voicemail.
Each attempt is recorded (sealed) on the tip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.twilio_fake import FakeTwilio
from tests.twilio.conftest import SmsLive, sms_server
from tests.voice.conftest import (
    ALICE_PHONE,
    BOB_PHONE,
    TwilioCall,
    events,
    give_phones,
    messages_of_only_tip,
)


async def _pressed_1(voice: SmsLive) -> TwilioCall:
    call = TwilioCall(voice)
    await call.start()
    await call.press("1")
    t = await call.press("1")
    assert t.dialled == ALICE_PHONE
    return call


@pytest.mark.parametrize("outcome", ["no-answer", "busy", "failed"])
async def test_no_answer_busy_or_failed_rings_the_next_advocate(voice: SmsLive, outcome: str) -> None:
    call = await _pressed_1(voice)
    t = await call.dial_result(outcome)
    assert t.verbs() == ["Dial"] and t.dialled == BOB_PHONE  # no second "please hold"
    t = await call.dial_result("completed", 61)
    assert t.verbs() == ["Hangup"]
    _, msgs = await messages_of_only_tip(voice)
    assert events(msgs) == ["call", "choice", "dial", "dial"]
    first, second = msgs[2]["meta"], msgs[3]["meta"]
    assert (first["advocate"], first["outcome"], first["answered"]) == ("alice", outcome, "no")
    assert (second["advocate"], second["answered"], second["talk_seconds"]) == ("bob", "yes", "61")
    assert msgs[1]["meta"]["advocates_to_ring"] == "2"


async def test_nobody_answers_then_voicemail(voice: SmsLive) -> None:
    call = await _pressed_1(voice)
    await call.dial_result("no-answer")
    t = await call.dial_result("busy")
    assert "Record" in t.verbs() and "Dial" not in t.verbs()
    assert "No one can answer right now" in t.said()[0][1]
    # a repeated Dial action (Twilio retried) stores nothing twice and answers the same
    call.last = call.history[-2]
    again = await call.dial_result("busy")
    assert again.text == t.text
    _, msgs = await messages_of_only_tip(voice)
    assert events(msgs) == ["call", "choice", "dial", "dial"]


async def test_nobody_on_call_with_a_phone_goes_straight_to_voicemail(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    from tests.helpers.instance import make_instance

    inst = make_instance(tmp_path)  # alice on call, no phone
    async with sms_server(tmp_path, fake_twilio, instance=inst) as live:
        call = TwilioCall(live)
        await call.start()
        await call.press("1")
        t = await call.press("1")
        assert "Dial" not in t.verbs() and "Record" in t.verbs()
        _, msgs = await messages_of_only_tip(live)
        assert msgs[1]["meta"]["advocates_to_ring"] == "0"
        assert msgs[1]["meta"]["choice"] == "talk"


async def test_the_ring_order_is_the_rosters(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    from tests.helpers.instance import make_instance

    inst = make_instance(tmp_path)
    give_phones(inst, on_call=["bob", "alice"])
    async with sms_server(tmp_path, fake_twilio, instance=inst) as live:
        call = TwilioCall(live)
        await call.start()
        await call.press("1")
        t = await call.press("1")
        assert t.dialled == BOB_PHONE
        t = await call.dial_result("no-answer")
        assert t.dialled == ALICE_PHONE


async def test_a_forged_dial_step_is_refused(voice: SmsLive) -> None:
    call = await _pressed_1(voice)
    action = call.last.first("Dial").get("action")  # type: ignore[union-attr]
    for bad in (action.replace("n=0", "n=9"), action.replace("choice=talk", "choice=x"),  # type: ignore[union-attr]
                action.replace("order=", "order=a"), action.replace("lang=en", "lang=fr")):  # type: ignore[union-attr]
        status, body = await call.post(bad, {**call.params(), "DialCallStatus": "busy"})
        assert status == 400 and "step" in body, (bad, body)
    status, body = await call.post(action, {**call.params(), "DialCallStatus": "maybe"})  # type: ignore[arg-type]
    assert status == 400 and "DialCallStatus" in body


async def test_a_caller_who_hangs_up_while_it_rings_is_not_kept_ringing(voice: SmsLive) -> None:
    call = await _pressed_1(voice)
    t = await call.dial_result("canceled")
    assert t.verbs() == ["Hangup"]
    _, msgs = await messages_of_only_tip(voice)
    assert msgs[-1]["meta"]["outcome"] == "canceled" and msgs[-1]["meta"]["answered"] == "no"
