"""MMS/WhatsApp media: fetched from Twilio with the account's credentials,
encrypted as attachments, deleted at Twilio only after our commit, retried
when Twilio fails."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.helpers import store
from tests.helpers.twilio_fake import Failure, FakeTwilio, Recorded, sid
from tests.twilio.conftest import SmsLive, eventually, sms_server, twiml_reply

pytestmark = pytest.mark.both_stores

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-bytes" * 3000
PDF = b"%PDF-1.4 " + b"x" * 70_000  # more than one 64 KiB secretstream chunk


def _saved(attachment: dict) -> bytes:  # type: ignore[type-arg]
    return Path(attachment["saved_to"]).read_bytes()


async def _read_with_files(sms: SmsLive, tmp_path: Path) -> list[dict]:  # type: ignore[type-arg]
    client = await sms.advocate()
    [tip] = await asyncio.to_thread(client.inbox)
    opened = await asyncio.to_thread(client.read, tip["id"], tmp_path / "saved")
    return opened.messages


async def test_mms_with_three_media_is_encrypted_then_deleted_at_twilio(
        sms: SmsLive, tmp_path: Path) -> None:
    message_sid = sid("MM")
    urls = [sms.fake.add_media(message_sid, data, ctype) for data, ctype in
            ((PNG, "image/png"), (JPEG, "image/jpeg"), (PDF, "application/pdf"))]
    stored_when_deleted: list[int] = []

    def observe(r: Recorded) -> None:  # what is committed when Twilio is told to delete
        if r.method == "DELETE":
            stored_when_deleted.append(sms.count("attachments"))

    sms.fake.observers.append(observe)
    status, twiml = await sms.text("photos of the place", sid=message_sid,
                                   media=[(u, t) for u, t in zip(urls, ("image/png", "image/jpeg",
                                                                        "application/pdf"), strict=True)])
    assert status == 200 and twiml_reply(twiml) is not None
    # fetched with Basic auth (account SID, token), following Twilio's redirect to storage
    gets = sms.fake.calls("GET", "/Media/")
    assert len(gets) == 3 and {g.auth for g in gets} == {(sms.fake.account_sid, sms.fake.auth_token)}
    assert len(sms.fake.calls("GET", "/storage/")) == 3
    # then deleted at Twilio, each only after the message and its attachments were committed
    await eventually(lambda: not any(sms.fake.media_exists(u) for u in urls))
    assert stored_when_deleted == [3, 3, 3]
    assert all(d.path.endswith(".json") for d in sms.fake.calls("DELETE"))
    [m] = await _read_with_files(sms, tmp_path)
    assert m["body"] == "photos of the place"
    assert [(a["name"], a["content_type"], a["size"]) for a in m["attachments"]] == [
        ("media-1.png", "image/png", len(PNG)), ("media-2.jpg", "image/jpeg", len(JPEG)),
        ("media-3.pdf", "application/pdf", len(PDF))]
    assert [_saved(a) for a in m["attachments"]] == [PNG, JPEG, PDF]
    # at rest: ciphertext only, and no job left behind
    blobs = sms.query("SELECT blob FROM attachments")
    assert all(PNG[8:200] not in b[0] and b"jpeg-bytes" not in b[0] for b in blobs)
    await eventually(lambda: sms.count("twilio_jobs") == 0)


async def test_empty_body_with_media(sms: SmsLive, tmp_path: Path) -> None:
    message_sid = sid("MM")
    url = sms.fake.add_media(message_sid, JPEG, "image/jpeg")
    status, twiml = await sms.text("", sid=message_sid, media=[(url, "image/jpeg")])
    assert status == 200 and twiml_reply(twiml) is not None
    [m] = await _read_with_files(sms, tmp_path)
    assert m["body"] == "" and _saved(m["attachments"][0]) == JPEG


async def test_media_fetch_failure_keeps_the_message_records_the_error_and_retries(
        sms: SmsLive, tmp_path: Path) -> None:
    message_sid = sid("MM")
    good = sms.fake.add_media(message_sid, PNG, "image/png")
    flaky = sms.fake.add_media(message_sid, JPEG, "image/jpeg")
    # fails while Twilio waits for our answer, and once more on the first retry
    sms.fake.fail_media(flaky, Failure(500), Failure(503))
    with capture_logs() as logs:
        status, twiml = await sms.text("two photos", sid=message_sid,
                                       media=[(good, "image/png"), (flaky, "image/jpeg")])
        assert status == 200 and twiml_reply(twiml) is not None  # the message is not held back
        await eventually(lambda: not sms.fake.media_exists(flaky), within=10)
    retried = [e for e in logs if e["event"] == "twilio.job_retry"]
    assert [(e["kind"], e["attempts"], e["error"]) for e in retried] == [
        ("fetch_media", 1, "media download failed (HTTP 503)")]
    assert not sms.fake.media_exists(good)
    first, second = await _read_with_files(sms, tmp_path)
    assert first["body"] == "two photos" and first["meta"]["media_pending"] == "2"
    assert [_saved(a) for a in first["attachments"]] == [PNG]
    # the late media is its own message in the same tip, pointing at the first
    assert second["body"] == "" and second["meta"]["media_of_message"] == first["id"]
    assert second["meta"]["media_index"] == "2"
    assert [_saved(a) for a in second["attachments"]] == [JPEG]
    await eventually(lambda: sms.count("twilio_jobs") == 0)


async def test_media_that_is_gone_is_not_retried(sms: SmsLive) -> None:
    message_sid = sid("MM")
    url = sms.fake.add_media(message_sid, PNG, "image/png")
    sms.fake.fail_media(url, Failure(404, 20404))
    status, _ = await sms.text("look", sid=message_sid, media=[(url, "image/png")])
    assert status == 200
    _, [m] = await sms.read_only_tip()
    assert m["attachments"] == []
    assert m["meta"]["media_failed"] == "1: media download failed (HTTP 404)"
    assert sms.count("twilio_jobs") == 0


async def test_credentials_never_go_to_a_foreign_media_url(sms: SmsLive) -> None:
    foreign = f"https://media.example.net/2010-04-01/Accounts/{sms.fake.account_sid}/Messages/" \
              f"{sid('MM')}/Media/{sid('ME')}"
    other_account = sms.fake.add_media(sid("MM"), PNG, "image/png").replace(
        sms.fake.account_sid, sid("AC"))
    status, _ = await sms.text("x", media=[(foreign, "image/png"), (other_account, "image/png")])
    assert status == 200
    assert sms.fake.requests == []  # nothing fetched: neither is our account's Twilio media
    _, [m] = await sms.read_only_tip()
    assert m["meta"]["media_failed"].count("not a Twilio media URL") == 2


async def test_media_too_large_is_refused(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    async with sms_server(tmp_path, fake_twilio, HOTLINE_SMS_MAX_MEDIA_SIZE="10KB") as sms:
        message_sid = sid("MM")
        url = fake_twilio.add_media(message_sid, PDF, "application/pdf")
        status, _ = await sms.text("big", sid=message_sid, media=[(url, "application/pdf")])
        assert status == 200
        _, [m] = await sms.read_only_tip()
        assert "larger than sms.max_media_size" in m["meta"]["media_failed"]


async def test_deletion_is_configurable_and_can_include_the_message_record(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    async with sms_server(tmp_path, fake_twilio, HOTLINE_TWILIO_DELETE_MEDIA="false") as sms:
        message_sid = sid("MM")
        url = fake_twilio.add_media(message_sid, PNG, "image/png")
        await sms.text("keep at twilio", sid=message_sid, media=[(url, "image/png")])
        await asyncio.sleep(0.2)
        assert fake_twilio.calls("DELETE") == [] and fake_twilio.media_exists(url)
    async with sms_server(tmp_path / "b", fake_twilio, HOTLINE_TWILIO_DELETE_MESSAGES="true") as sms:
        message_sid = sid("MM")
        url = fake_twilio.add_media(message_sid, PNG, "image/png")
        await sms.text("delete everything", sid=message_sid, media=[(url, "image/png")])
        await eventually(lambda: message_sid in fake_twilio.deleted_messages)
        assert not fake_twilio.media_exists(url)
        assert fake_twilio.calls("DELETE")[-1].path.endswith(f"/Messages/{message_sid}.json")


async def test_media_retry_outlives_a_restart(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    message_sid = sid("MM")
    url = fake_twilio.add_media(message_sid, PNG, "image/png")
    fake_twilio.fail_media(url, Failure(500))
    async with sms_server(tmp_path, fake_twilio, HOTLINE_TWILIO_RETRY_BACKOFF="1h") as sms:
        await sms.text("photo", sid=message_sid, media=[(url, "image/png")])
        assert sms.query("SELECT kind, state FROM twilio_jobs") == [("fetch_media", "pending")]
        instance = sms.instance
    # the job is durable; a new process with a short backoff picks it up
    store.execute(instance.root, "UPDATE twilio_jobs SET next_at = 0")
    async with sms_server(tmp_path, fake_twilio, instance=instance) as sms:
        await eventually(lambda: sms.count("messages") == 2 and not fake_twilio.media_exists(url))
