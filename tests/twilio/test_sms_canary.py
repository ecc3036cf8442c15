"""Privacy canary for the SMS/MMS/WhatsApp channel: the text, the sender's
number, a WhatsApp profile name, media bytes, an advocate's reply and
Twilio's SIDs are found in no file under the instance folder (database, WAL,
key store, log file) and in no captured log event, while running and after
shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

from structlog.testing import capture_logs

from tests.helpers.twilio_fake import Failure, FakeTwilio, sid
from tests.twilio.conftest import eventually, sms_server

CANARY = "CANARY-sms-4k9q-otter-beacon"
REPLY_CANARY = "REPLYCANARY-sms-7w2e-lantern"
PROFILE = "ProfileCanary-Quill"
MEDIA = b"MEDIACANARY-9z8y-" * 200
NUMBER = "+14155557321"
WA_NUMBER = "+5215512349876"


def _needles(texts: list[str]) -> list[bytes]:
    out = []
    for t in texts:
        out += [t.encode(), t.encode("utf-16-le")]
    return out


def _files_containing(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            found += [f"{path.name} has {n[:20]!r}" for n in needles if n.lower() in data]
    return found


async def _exercise(tmp_path: Path, fake: FakeTwilio) -> tuple[Path, list[str]]:
    """Every path a number or a text takes: SMS, MMS, media retry, WhatsApp, STOP, replies."""
    message_sid, retry_sid = sid("MM"), sid("MM")
    media_url = fake.add_media(message_sid, MEDIA, "image/jpeg")
    late_url = fake.add_media(retry_sid, MEDIA, "image/jpeg")
    fake.fail_media(late_url, Failure(500), Failure(500))  # inline, then the first retry
    async with sms_server(tmp_path, fake) as sms:
        await sms.text(f"help {CANARY} they keep us in the back", sender=NUMBER,
                       sid=message_sid, media=[(media_url, "image/jpeg")])
        await sms.text(f"more {CANARY}", sender=NUMBER, sid=retry_sid,
                       media=[(late_url, "image/jpeg")])
        await sms.text(f"whatsapp {CANARY}", sender="whatsapp:" + WA_NUMBER,
                       extra={"ProfileName": PROFILE, "WaId": WA_NUMBER[1:]})
        await sms.text("STOP", sender=NUMBER)
        client = await sms.advocate()
        for tip in await asyncio.to_thread(client.inbox):
            await asyncio.to_thread(client.send, tip["id"], REPLY_CANARY, note=False)
        await eventually(lambda: sms.count("twilio_jobs") == 0
                         and not fake.media_exists(late_url))
        assert {s["To"] for s in fake.sent} == {NUMBER, "whatsapp:" + WA_NUMBER}
        assert sms.count("messages") == 7  # 3 texts + late media + STOP + 2 replies
        sids = [message_sid, retry_sid, media_url.rsplit("/", 1)[1], late_url.rsplit("/", 1)[1],
                *(s["sid"] for s in fake.sent)]
        secrets = [CANARY, REPLY_CANARY, PROFILE, NUMBER, NUMBER[2:], WA_NUMBER, WA_NUMBER[1:],
                   "MEDIACANARY", *sids]
        assert _files_containing(sms.instance.root, _needles(secrets)) == []  # while running
        return sms.instance.root, secrets


async def test_sms_canary_absent_from_instance_files_and_log_file(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    root, secrets = await _exercise(tmp_path, fake_twilio)
    assert _files_containing(root, _needles(secrets)) == []  # after shutdown, WAL checkpointed
    log = (root / "logs" / "hotline.log").read_text()
    assert "sms.received" in log and "twilio.job_retry" in log  # the log is real
    assert [ln for ln in log.splitlines() if "127.0.0.1" in ln] == []  # no client address


async def test_sms_canary_absent_from_captured_log_events(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    with capture_logs() as logs:
        _, secrets = await _exercise(tmp_path, fake_twilio)
    events = {e["event"] for e in logs}
    assert {"intake.stored", "sms.received", "sms.keyword", "sms.reply_sent"} <= events
    flat = repr(logs)
    assert [s for s in secrets if s in flat] == []
