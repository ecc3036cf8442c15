"""``hotline simulate voice``: the CLI plays Twilio's part in a whole call against a
running instance, following its TwiML, and serves the voicemail to its fetch."""

from __future__ import annotations

import asyncio
import json
import wave
from pathlib import Path

from tests.conftest import free_port
from tests.helpers.instance import make_instance
from tests.helpers.process import run_cli
from tests.helpers.twilio_fake import FakeTwilio
from tests.twilio.conftest import SmsLive, sms_server
from tests.voice.conftest import ALICE_PHONE, give_phones, messages_of_only_tip


def _wav(path: Path, seconds: int) -> bytes:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(range(256)) * (8000 * 2 * seconds // 256))
    return path.read_bytes()


def _simulate(live: SmsLive, *args: str, check: bool = True):  # type: ignore[no-untyped-def]
    return asyncio.to_thread(run_cli, "simulate", "voice", str(live.instance.root), *args,
                             check=check, **live.env)


async def test_simulate_voice_leaves_a_voicemail_end_to_end(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = make_instance(tmp_path)
    api = f"http://127.0.0.1:{free_port()}"  # the simulator stands in for Twilio's REST here
    async with sms_server(tmp_path, fake_twilio, instance=inst,
                          HOTLINE_TWILIO_API_BASE=api) as live:
        wav = await asyncio.to_thread(_wav, tmp_path / "message.wav", 3)
        proc = await _simulate(live, "--from", "+14155550177", "--press", "2",
                               "--recording", str(tmp_path / "message.wav"), "--json")
        result = json.loads(proc.stdout)
        steps = [s["step"] for s in result["steps"]]
        assert steps[:4] == ["heard", "pressed", "heard", "pressed"]
        [recorded] = [s for s in result["steps"] if s["step"] == "recorded"]
        assert recorded["fetched"] and recorded["deleted_at_twilio"]
        _, msgs = await messages_of_only_tip(live, tmp_path / "saved")
        assert [m["meta"]["event"] for m in msgs] == ["call", "choice", "voicemail", "call_end"]
        assert msgs[0]["sender"] == "+14155550177"
        assert msgs[2]["meta"]["recording_seconds"] == "3"
        saved = msgs[2]["attachments"][0]["saved_to"]
        assert await asyncio.to_thread(Path(saved).read_bytes) == wav


async def test_simulate_voice_talk_now_in_spanish(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = make_instance(tmp_path)
    give_phones(inst, on_call=["alice"])
    async with sms_server(tmp_path, fake_twilio, instance=inst) as live:
        proc = await _simulate(live, "--from", "+14155550178", "--lang", "es", "--press", "1",
                               "--dial", "completed")
        assert "peligro" in proc.stdout and f"to={ALICE_PHONE}" in proc.stdout
        assert "+14155550178" not in proc.stdout.split("Call ")[1].split("dialled")[1]
        tip, msgs = await messages_of_only_tip(live)
        assert tip["urgency"] == "high" and msgs[2]["meta"]["answered"] == "yes"


async def test_simulate_voice_errors_are_one_line(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    async with sms_server(tmp_path, fake_twilio) as live:
        proc = await _simulate(live, "--from", "+14155550179", "--press", "2", "--recording",
                               str(tmp_path / "missing.wav"), check=False)
        assert proc.returncode == 2 and "missing.wav" in proc.stderr
        wav = tmp_path / "m.wav"
        await asyncio.to_thread(_wav, wav, 1)
        proc = await _simulate(live, "--from", "+14155550179", "--press", "2", "--recording",
                               str(wav), "--json")  # a stand-in already listens: it takes it
        [recorded] = [st for st in json.loads(proc.stdout)["steps"] if st["step"] == "recorded"]
        assert recorded["fetched"] and recorded["deleted_at_twilio"]
        proc = await asyncio.to_thread(run_cli, "simulate", "voice", str(live.instance.root),
                                       "--from", "+1", check=False,
                                       **{**live.env, "HOTLINE_TWILIO_AUTH_TOKEN": "wrong"})
        assert proc.returncode == 1 and "403" in proc.stderr and "Traceback" not in proc.stderr


async def test_talk_now_with_no_phone_says_why_and_hears_goodbye_once(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    """No advocate has a phone: the transcript says so; what follows a <Record> is not heard."""
    async with sms_server(tmp_path, fake_twilio) as live:
        proc = await _simulate(live, "--from", "+14155550180", "--press", "1")
    out = proc.stdout
    assert "note: no advocate on call could be rung: none has a phone number" in out
    assert "no_message:" not in out and "no message left (give --recording FILE" in out
    assert out.count("Goodbye") <= 1, out
