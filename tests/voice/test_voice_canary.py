"""Privacy canary for the voice channel: the caller's number, a spoken canary in
Twilio's transcription, the recording's bytes and Twilio's SIDs are found in no
file under the instance folder (database, WAL, key store, log file) and in no
captured log event, while running and after shutdown. Transcription is on here
(it is off by default), so the rules read the caller's words and the urgency
follows them."""

from __future__ import annotations

from pathlib import Path

from structlog.testing import capture_logs

from tests.helpers.instance import make_instance
from tests.helpers.twilio_fake import FakeTwilio
from tests.twilio.conftest import eventually, sms_server
from tests.twilio.test_sms_canary import _files_containing, _needles
from tests.voice.conftest import TwilioCall, give_phones, messages_of_only_tip

NUMBER = "+14155557654"
SPOKEN = "SPOKENCANARY-voice-3j5k-heron"
AUDIO = b"RIFF....WAVEfmt " + b"AUDIOCANARY-5t6y-" * 4000


async def _exercise(tmp_path: Path, fake: FakeTwilio) -> tuple[Path, list[str]]:
    inst = make_instance(tmp_path)
    give_phones(inst, on_call=["alice", "bob"])
    async with sms_server(tmp_path, fake, instance=inst, HOTLINE_VOICE_TRANSCRIBE="true") as live:
        # a call that rings both advocates, nobody answers, a voicemail, its transcription
        call = TwilioCall(live, sender=NUMBER)
        await call.start()
        await call.press("2")
        await call.press("1")
        await call.dial_result("no-answer")
        t = await call.dial_result("busy")
        assert "Record" in t.verbs()
        rec = call.record_verb()
        assert rec.get("transcribe") == "true" and rec.get("transcribeCallback")
        recording_sid, _ = fake.add_recording(AUDIO)
        await call.record_action(recording_sid, 20, rec)
        await call.recording_status(recording_sid, 20, rec=rec)
        status, _ = await call.transcription(
            recording_sid, f"please help {SPOKEN} he has a gun and says he will kill me",
            url=rec.get("transcribeCallback"))
        assert status == 204
        await call.hang_up(95)
        await eventually(lambda: not fake.recording_exists(recording_sid)
                         and live.count("twilio_jobs") == 0)
        tip, msgs = await messages_of_only_tip(live)
        # the voicemail is fetched in the background: it may land after the transcription
        assert sorted(str(m["meta"]["event"]) for m in msgs) == sorted(
            ["call", "choice", "dial", "dial", "voicemail", "transcription", "call_end"])
        said = next(m for m in msgs if m["meta"]["event"] == "transcription")
        assert msgs[0]["sender"] == NUMBER and SPOKEN in str(said["body"])
        assert tip["urgency"] == "critical"  # the rules read the transcription
        secrets = [NUMBER, NUMBER[1:], NUMBER[2:], SPOKEN, "AUDIOCANARY", call.call_sid,
                   recording_sid]
        assert _files_containing(live.instance.root, _needles(secrets)) == []  # while running
        return live.instance.root, secrets


async def test_voice_canary_absent_from_instance_files_and_log_file(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    root, secrets = await _exercise(tmp_path, fake_twilio)
    assert _files_containing(root, _needles(secrets)) == []  # after shutdown
    log = (root / "logs" / "hotline.log").read_text()
    assert "voice.step" in log and "voice.voicemail_stored" in log  # the log is real
    assert [ln for ln in log.splitlines() if "127.0.0.1" in ln] == []


async def test_voice_canary_absent_from_captured_log_events(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    with capture_logs() as logs:
        _, secrets = await _exercise(tmp_path, fake_twilio)
    assert {"intake.stored", "voice.step", "voice.voicemail_stored",
            "voice.recording_deleted"} <= {e["event"] for e in logs}
    flat = repr(logs)
    assert [s for s in secrets if s in flat] == []
