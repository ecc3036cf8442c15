"""Voicemail: fetched with the account's credentials, encrypted in chunks as an
attachment, deleted at Twilio only after our commit; callbacks in either
order and repeated store it once; failures are retried durably."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.helpers.twilio_fake import Failure, FakeTwilio, Recorded
from tests.twilio.conftest import SmsLive, eventually, sms_server
from tests.voice.conftest import WAV, TwilioCall, events, give_phones, messages_of_only_tip


async def _at_the_tone(live: SmsLive, lang_key: str = "1") -> TwilioCall:
    call = TwilioCall(live)
    await call.start()
    await call.press(lang_key)
    t = await call.press("2")
    assert "Record" in t.verbs()
    return call


def _read(path: object) -> bytes:
    return Path(str(path)).read_bytes()


def _voicemail_stored(live: SmsLive) -> bool:
    return live.count("attachments") == 1


@pytest.mark.parametrize("order", ["action_first", "status_first"])
async def test_voicemail_is_stored_once_then_deleted_at_twilio(
        voice: SmsLive, tmp_path: Path, order: str) -> None:
    call = await _at_the_tone(voice)
    rec = call.record_verb()
    recording_sid, _ = voice.fake.add_recording(WAV)
    committed_at_delete: list[int] = []

    def observe(r: Recorded) -> None:  # what is committed when Twilio is told to delete
        if r.method == "DELETE":
            committed_at_delete.append(voice.count("attachments"))

    voice.fake.observers.append(observe)
    if order == "action_first":
        t = await call.record_action(recording_sid, 14, rec)
        assert t.verbs() == ["Say", "Hangup"] and "Thank you" in t.said()[0][1]
        assert (await call.recording_status(recording_sid, 14, rec=rec))[0] == 204
    else:
        assert (await call.recording_status(recording_sid, 14, rec=rec))[0] == 204
        await call.record_action(recording_sid, 14, rec)
    await eventually(lambda: not voice.fake.recording_exists(recording_sid))
    assert committed_at_delete == [1]
    gets = voice.fake.calls("GET", "/Recordings/")
    assert len(gets) == 1 and gets[0].path.endswith(f"{recording_sid}.wav")
    assert gets[0].auth == (voice.fake.account_sid, voice.fake.auth_token)
    # repeats after it is stored: nothing more fetched, stored or deleted
    await call.recording_status(recording_sid, 14, rec=rec)
    await call.record_action(recording_sid, 14, rec)
    await eventually(lambda: voice.count("twilio_jobs") == 0)
    assert len(voice.fake.calls("GET", "/Recordings/")) == 1
    assert len(voice.fake.calls("DELETE", "/Recordings/")) == 1
    _, msgs = await messages_of_only_tip(voice, tmp_path / "saved")
    assert events(msgs) == ["call", "choice", "voicemail"]
    vm = msgs[2]
    assert vm["meta"]["recording_seconds"] == "14" and vm["meta"]["language"] == "en"
    assert vm["meta"]["call_message"] == msgs[0]["id"]
    [a] = vm["attachments"]
    assert (a["name"], a["content_type"], a["size"]) == ("voicemail.wav", "audio/x-wav", len(WAV))
    assert _read(a["saved_to"]) == WAV
    [(blob,)] = voice.query("SELECT blob FROM attachments")
    assert WAV[20:400] not in blob  # ciphertext at rest


async def test_not_ready_then_500_then_success_is_retried(voice: SmsLive) -> None:
    call = await _at_the_tone(voice)
    rec = call.record_verb()
    recording_sid, _ = voice.fake.add_recording(WAV, ready=False)
    with capture_logs() as logs:
        await call.record_action(recording_sid, 9, rec)  # Twilio is still writing the file
        await eventually(lambda: len(voice.fake.calls("GET", "/Recordings/")) >= 1)
        voice.fake.fail_recording(recording_sid, Failure(500))
        voice.fake.recording_ready(recording_sid)
        await call.recording_status(recording_sid, 9, rec=rec)
        await eventually(lambda: not voice.fake.recording_exists(recording_sid), within=10)
    retries = [e for e in logs if e["event"] == "twilio.job_retry"]
    assert {e["kind"] for e in retries} == {"fetch_recording"}
    assert "recording download failed (HTTP 500)" in {e["error"] for e in retries}
    assert _voicemail_stored(voice)
    await eventually(lambda: voice.count("twilio_jobs") == 0)


async def test_absent_recording_leaves_no_job(voice: SmsLive) -> None:
    call = await _at_the_tone(voice)
    rec = call.record_verb()
    recording_sid, _ = voice.fake.add_recording(WAV, ready=False)
    await call.record_action(recording_sid, 0, rec)
    assert voice.count("twilio_jobs") == 1
    await call.recording_status(recording_sid, 0, status="absent", rec=rec)
    assert voice.count("twilio_jobs") == 0


async def test_deletion_at_twilio_can_be_turned_off_and_mp3_chosen(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    from tests.helpers.instance import make_instance

    inst = make_instance(tmp_path)
    give_phones(inst, on_call=["alice"])
    async with sms_server(tmp_path, fake_twilio, instance=inst,
                          HOTLINE_VOICE_DELETE_RECORDINGS="false",
                          HOTLINE_VOICE_RECORDING_FORMAT="mp3") as live:
        call = await _at_the_tone(live)
        recording_sid, _ = fake_twilio.add_recording(WAV, mp3=b"ID3-mp3-bytes" * 100)
        await call.recording_status(recording_sid, 3)
        await eventually(lambda: _voicemail_stored(live))
        await asyncio.sleep(0.3)
        assert fake_twilio.calls("DELETE") == [] and fake_twilio.recording_exists(recording_sid)
        assert fake_twilio.calls("GET", "/Recordings/")[0].path.endswith(".mp3")
        _, msgs = await messages_of_only_tip(live)
        assert msgs[-1]["attachments"][0]["content_type"] == "audio/mpeg"
        assert live.count("twilio_jobs") == 0


async def test_a_recording_larger_than_the_longest_allowed_is_refused(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    from tests.helpers.instance import make_instance

    inst = make_instance(tmp_path)
    async with sms_server(tmp_path, fake_twilio, instance=inst,
                          HOTLINE_VOICE_MAX_RECORDING_LENGTH="1s") as live:
        call = await _at_the_tone(live)
        assert call.record_verb().get("maxLength") == "1"
        recording_sid, _ = fake_twilio.add_recording(WAV * 10)
        await call.recording_status(recording_sid, 1)
        await eventually(lambda: live.query("SELECT state FROM twilio_jobs") == [("failed",)])
        [(error,)] = live.query("SELECT last_error FROM twilio_jobs")
        assert "larger than voice.max_recording_length" in error
        assert fake_twilio.recording_exists(recording_sid)  # never deleted without our copy
