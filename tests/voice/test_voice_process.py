"""The voice channel as an operator and an advocate meet it: ``hotline serve`` in
its own process (killed with SIGKILL mid-work and restarted), and the
advocate's own CLI listing and saving the decrypted voicemail."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest

from tests.conftest import free_port
from tests.helpers.instance import make_instance
from tests.helpers.process import ServerProcess, run_cli
from tests.helpers.twilio_fake import Failure, FakeTwilio
from tests.twilio.conftest import HOTLINE_NUMBER, eventually
from tests.voice.conftest import WAV, TwilioCall, give_phones

if TYPE_CHECKING:  # not imported at run time: pytest would try to collect the class
    from tests.helpers.instance import TestInstance


def configure_twilio(inst: TestInstance, fake: FakeTwilio, backoff: str) -> None:
    """Write the Twilio settings into the instance's own hotline.toml (a served process
    reads no test environment)."""
    path = inst.root / "hotline.toml"
    text = path.read_text()
    values = {"account_sid": fake.account_sid, "auth_token": fake.auth_token,
              "number": HOTLINE_NUMBER, "api_base": fake.base_url, "retry_backoff": backoff,
              "timeout": "2s"}
    section = text.index("[twilio]")
    end = text.find("\n[", section + 1)
    body = text[section:end]
    for key, value in values.items():
        body, n = re.subn(rf"^#? ?{key} = .*$", f'{key} = "{value}"', body, flags=re.M)
        assert n == 1, key
    path.write_text(text[:section] + body + text[end:])


@dataclass
class Served:
    """Enough of ``SmsLive`` for ``TwilioCall``: where to post, what Twilio signs."""

    url: str
    public_url: str
    fake: FakeTwilio
    session: aiohttp.ClientSession


@pytest.fixture
async def served(tmp_path: Path, fake_twilio: FakeTwilio
                 ) -> AsyncIterator[tuple[TestInstance, ServerProcess, Served]]:
    inst = make_instance(tmp_path)
    give_phones(inst, on_call=["alice"])
    configure_twilio(inst, fake_twilio, "400ms,400ms,400ms,400ms,400ms,400ms,400ms,400ms")
    server = await asyncio.to_thread(ServerProcess(inst.root, free_port()).start)
    async with aiohttp.ClientSession() as session:
        try:
            yield inst, server, Served(server.url, server.url, fake_twilio, session)
        finally:
            await asyncio.to_thread(server.stop)


def _client(inst: TestInstance, url: str) -> list[str]:
    return ["--server", url, "--key", str(inst.key_file("alice"))]


async def test_kill_9_loses_no_acknowledged_call_and_resumes_the_recording_fetch(
        served: tuple[TestInstance, ServerProcess, Served], fake_twilio: FakeTwilio) -> None:
    inst, server, live = served
    call = TwilioCall(live)  # type: ignore[arg-type]
    await call.start()
    await call.press("1")
    await call.press("2")
    rec = call.record_verb()
    recording_sid, _ = fake_twilio.add_recording(WAV)
    fake_twilio.fail_recording(recording_sid, *[Failure(500)] * 50)
    await call.record_action(recording_sid, 11, rec)
    await call.recording_status(recording_sid, 11, rec=rec)
    await eventually(lambda: len(fake_twilio.calls("GET", "/Recordings/")) >= 1)
    await asyncio.to_thread(server.kill9)  # the fetch is pending, retrying
    assert fake_twilio.recording_exists(recording_sid)
    fake_twilio.heal_recording(recording_sid)
    await asyncio.to_thread(server.start)
    await eventually(lambda: not fake_twilio.recording_exists(recording_sid), within=15)
    inbox = json.loads((await asyncio.to_thread(
        run_cli, "inbox", "--json", *_client(inst, server.url))).stdout)
    assert len(inbox) == 1 and inbox[0]["channel"] == "voice"
    opened = json.loads((await asyncio.to_thread(
        run_cli, "read", inbox[0]["id"], "--json", *_client(inst, server.url))).stdout)
    assert [m["meta"]["event"] for m in opened["messages"]] == ["call", "choice", "voicemail"]


async def test_the_advocate_cli_lists_and_saves_the_voicemail(
        served: tuple[TestInstance, ServerProcess, Served], fake_twilio: FakeTwilio,
        tmp_path: Path) -> None:
    inst, server, live = served
    call = TwilioCall(live)  # type: ignore[arg-type]
    await call.start()
    await call.press("2")
    await call.press("2")
    recording_sid, _ = fake_twilio.add_recording(WAV)
    await call.recording_status(recording_sid, 5)
    await eventually(lambda: not fake_twilio.recording_exists(recording_sid))
    [tip] = json.loads((await asyncio.to_thread(
        run_cli, "inbox", "--json", *_client(inst, server.url))).stdout)
    out = tmp_path / "saved"
    proc = await asyncio.to_thread(run_cli, "read", tip["id"], "--save-attachments", str(out),
                                   *_client(inst, server.url))
    assert "voicemail.wav (audio/x-wav" in proc.stdout
    saved = await asyncio.to_thread(lambda: [(p.name, p.read_bytes()) for p in out.iterdir()])
    assert [data for _, data in saved] == [WAV]
    assert "voicemail" in saved[0][0]
