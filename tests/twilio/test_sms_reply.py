"""Advocates' replies by SMS/WhatsApp: the number comes from the advocate's
device, the server checks it against the thread, sends through Twilio's REST
API (our stand-in), stores the reply sealed, reports and retries failures."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

from crypto import EnvelopeContext, Identity, sign_message
from hotline.domain import new_message_id
from hotline.errors import ClientError
from tests.helpers.process import run_cli
from tests.helpers.twilio_fake import Failure, FakeTwilio, signed_post
from tests.twilio.conftest import HOTLINE_NUMBER, REPORTER, SmsLive, eventually, sms_server, twiml_reply

pytestmark = pytest.mark.both_stores


def _cli(sms: SmsLive, *args: str, check: bool = True):  # type: ignore[no-untyped-def]
    key = str(sms.instance.key_file("alice"))
    return asyncio.to_thread(run_cli, *args, "--server", sms.url, "--key", key, check=check)


async def test_reply_round_trip_through_the_cli(sms: SmsLive) -> None:
    await sms.text("I need help, I am at the farm")
    [tip] = json.loads((await _cli(sms, "inbox", "--json")).stdout)
    assert tip["channel"] == "sms"
    done = await _cli(sms, "reply", tip["id"], "-m", "We are here. Are you safe to talk?")
    assert "Sent reply" in done.stdout
    [sent] = sms.fake.sent
    assert (sent["To"], sent["From"], sent["Body"]) == (REPORTER, HOTLINE_NUMBER,
                                                         "We are here. Are you safe to talk?")
    assert sent["StatusCallback"] == sms.public_url + "/twilio/sms/status"
    post = sms.fake.calls("POST", "/Messages.json")[0]
    assert post.auth == (sms.fake.account_sid, sms.fake.auth_token)
    # the reporter answers in the same thread; no second automatic reply
    status, twiml = await sms.text("yes, I can talk now")
    assert status == 200 and twiml_reply(twiml) is None
    read = json.loads((await _cli(sms, "read", tip["id"], "--json")).stdout)
    assert [(m["direction"], m["body"]) for m in read["messages"]] == [
        ("in", "I need help, I am at the farm"), ("out", "We are here. Are you safe to talk?"),
        ("in", "yes, I can talk now")]
    assert read["messages"][1]["delivery"] == {"status": "sent", "attempts": 1, "error": None}
    assert read["messages"][0]["sender"] == REPORTER
    # the reply is sealed to the advocates and the recovery key; no number is stored for it
    assert sms.instance.recovery.fingerprint in read["messages"][1]["sealed_to"]
    assert sms.query("SELECT status, error FROM sms_outbox") == [("sent", None)]
    # Twilio's later word on delivery reaches the advocate
    status, _ = await signed_post(sms.session, server=sms.url, path="/twilio/sms/status",
                                  public_url=sms.public_url, auth_token=sms.fake.auth_token, form={
                                      "AccountSid": sms.fake.account_sid, "MessageSid": sent["sid"],
                                      "MessageStatus": "undelivered", "ErrorCode": "30007",
                                      "To": REPORTER, "From": HOTLINE_NUMBER})
    assert status == 204
    assert sms.query("SELECT status, error FROM sms_outbox") == [("undelivered", "Twilio error 30007")]


async def test_failed_send_is_reported_then_retried(sms: SmsLive) -> None:
    await sms.text("please answer")
    sms.fake.fail_sends(Failure(500), Failure(503))
    [tip] = json.loads((await _cli(sms, "inbox", "--json")).stdout)
    proc = await _cli(sms, "reply", tip["id"], "-m", "We got your message", check=False)
    assert proc.returncode == 1
    assert "stored but not sent yet" in proc.stderr and "HTTP 500" in proc.stderr
    assert "Traceback" not in proc.stderr
    await eventually(lambda: len(sms.fake.sent) == 1)
    assert len(sms.fake.calls("POST", "/Messages.json")) == 3
    client = await sms.advocate()
    opened = await asyncio.to_thread(client.read, tip["id"])
    out = opened.messages[1]
    assert out["body"] == "We got your message"
    assert out["delivery"] == {"status": "sent", "attempts": 3, "error": None}


async def test_permanent_failure_is_reported_and_not_retried(sms: SmsLive) -> None:
    await sms.text("hi")
    client = await sms.advocate()
    [tip] = await asyncio.to_thread(client.inbox)
    sms.fake.fail_sends(Failure(400, 21610))
    with pytest.raises(ClientError, match=r"could not be sent .*21610: the reporter has opted out"):
        await asyncio.to_thread(client.send, tip["id"], "are you there?", note=False)
    await asyncio.sleep(0.3)
    assert len(sms.fake.calls("POST", "/Messages.json")) == 1
    out = (await asyncio.to_thread(client.read, tip["id"])).messages[1]
    assert out["body"] == "are you there?" and out["delivery"]["status"] == "failed"
    # Twilio's error text quoted the number; what we keep does not
    assert REPORTER not in json.dumps(out["delivery"])


async def test_server_sends_only_to_the_number_of_the_thread(sms: SmsLive) -> None:
    await sms.text("hello")
    client = await sms.advocate()
    [tip] = await asyncio.to_thread(client.inbox)
    r = await asyncio.to_thread(client.http.get_json, f"/api/tips/{tip['id']}/recipients")

    def post(to: str | None, text: str | None = "hi") -> dict:  # type: ignore[type-arg]
        mid = new_message_id()
        ctx = EnvelopeContext(r["instance_id"], tip["id"], mid, "out", "sms")
        sig = sign_message(sms.instance.alice, ctx, text or "")
        body = {"id": mid, "direction": "out", "signature": base64.b64encode(sig).decode()}
        body.update({k: v for k, v in (("to", to), ("text", text)) if v is not None})
        return dict(client.http.post_json(f"/api/tips/{tip['id']}/messages", body))

    with pytest.raises(ClientError, match="403 'to' is not the number of this conversation"):
        await asyncio.to_thread(post, "+14155550000")
    with pytest.raises(ClientError, match="400 'to' is missing"):
        await asyncio.to_thread(post, None)
    with pytest.raises(ClientError, match="400 'text' must have"):
        await asyncio.to_thread(post, REPORTER, "x" * 1601)
    assert sms.fake.sent == [] and sms.count("messages") == 1
    assert (await asyncio.to_thread(post, REPORTER))["delivery"]["status"] == "sent"


async def test_the_stored_sms_reply_is_exactly_the_signed_text_that_was_sent(sms: SmsLive) -> None:
    """The server seals the record from the text it sends, after checking the author's
    signature over that text; a text, signature or envelope that do not agree are refused."""
    await sms.text("hello")
    client = await sms.advocate()
    [tip] = await asyncio.to_thread(client.inbox)
    r = await asyncio.to_thread(client.http.get_json, f"/api/tips/{tip['id']}/recipients")
    path = f"/api/tips/{tip['id']}/messages"

    def post(text: str, signed_text: str, signer: Identity, **extra: str) -> dict:  # type: ignore[type-arg]
        mid = new_message_id()
        ctx = EnvelopeContext(r["instance_id"], tip["id"], mid, "out", "sms")
        sig = base64.b64encode(sign_message(signer, ctx, signed_text)).decode()
        body = {"id": mid, "direction": "out", "to": REPORTER, "text": text, "signature": sig}
        return dict(client.http.post_json(path, {**body, **extra}))

    alice, bob = sms.instance.alice, sms.instance.bob
    with pytest.raises(ClientError, match="400 the signature does not verify"):
        await asyncio.to_thread(post, "false alarm, ignore", "we are coming", alice)
    with pytest.raises(ClientError, match="400 the signature does not verify"):
        await asyncio.to_thread(post, "we are coming", "we are coming", bob)  # not the author's
    with pytest.raises(ClientError, match="400 an SMS/WhatsApp reply is sealed by the server"):
        await asyncio.to_thread(post, "we are coming", "we are coming", alice, envelope="AAAA")
    with pytest.raises(ClientError, match="400 'signature'"):
        await asyncio.to_thread(client.http.post_json, path, {
            "id": new_message_id(), "direction": "out", "to": REPORTER, "text": "unsigned"})
    assert sms.fake.sent == [] and sms.count("messages") == 1
    await asyncio.to_thread(client.send, tip["id"], "We are coming. Stay where you are.",
                            note=False)
    [sent] = sms.fake.sent
    read = await asyncio.to_thread(client.read, tip["id"])
    out = read.messages[1]
    assert out["body"] == sent["Body"] == "We are coming. Stay where you are."
    assert out["signature"]["status"] == "verified"
    assert out["signature"]["fingerprint"] == alice.fingerprint
    assert out["signature"]["name"] == alice.name


async def test_web_replies_never_carry_plaintext(sms: SmsLive, tmp_path: Path) -> None:
    import aiohttp

    from tests.conftest import Browser
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        await Browser(sms.url, s).report("web report")
    client = await sms.advocate()
    [tip] = await asyncio.to_thread(client.inbox)
    with pytest.raises(ClientError, match="400 only SMS/WhatsApp replies carry"):
        await asyncio.to_thread(client.http.post_json, f"/api/tips/{tip['id']}/messages",
                                {"id": new_message_id(), "direction": "out", "envelope": "",
                                 "to": REPORTER, "text": "plaintext"})
    await asyncio.to_thread(client.send, tip["id"], "sealed web reply", note=False)
    assert sms.fake.sent == []


async def test_whatsapp_reply_goes_out_from_the_whatsapp_sender(sms: SmsLive) -> None:
    await sms.text("hola", sender="whatsapp:" + REPORTER, to="whatsapp:" + HOTLINE_NUMBER)
    client = await sms.advocate()
    [tip] = await asyncio.to_thread(client.inbox)
    await asyncio.to_thread(client.send, tip["id"], "Hola, estamos aquí.", note=False)
    [sent] = sms.fake.sent
    assert (sent["To"], sent["From"]) == ("whatsapp:" + REPORTER, "whatsapp:" + HOTLINE_NUMBER)


async def test_notes_on_sms_tips_stay_private(sms: SmsLive) -> None:
    await sms.text("hello")
    client = await sms.advocate()
    [tip] = await asyncio.to_thread(client.inbox)
    await asyncio.to_thread(client.send, tip["id"], "call back tomorrow", note=True)
    assert sms.fake.sent == [] and sms.count("sms_outbox") == 0


async def test_a_restart_turns_pending_retries_into_send_again(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    async with sms_server(tmp_path, fake_twilio, HOTLINE_TWILIO_RETRY_BACKOFF="1h") as sms:
        await sms.text("hello")
        client = await sms.advocate()
        [tip] = await asyncio.to_thread(client.inbox)
        fake_twilio.fail_sends(Failure(502))
        with pytest.raises(ClientError, match="not sent yet"):
            await asyncio.to_thread(client.send, tip["id"], "reply", note=False)
        instance = sms.instance
    async with sms_server(tmp_path, fake_twilio, instance=instance) as sms:
        client = await sms.advocate()
        out = (await asyncio.to_thread(client.read, tip["id"])).messages[1]
        assert out["delivery"]["status"] == "failed"
        assert "restarted" in out["delivery"]["error"] and "send it again" in out["delivery"]["error"]
    assert fake_twilio.sent == []


async def test_a_non_ascii_signature_on_an_sms_reply_is_a_400(sms: SmsLive) -> None:
    """A str that is not ASCII made base64 raise ValueError, which was a 500."""
    await sms.text("hello")
    client = await sms.advocate()
    [tip] = await asyncio.to_thread(client.inbox)
    body = {"id": new_message_id(), "direction": "out", "to": REPORTER, "text": "hi",
            "signature": "sïgnature"}
    with pytest.raises(ClientError, match=r"400 'signature' .* is missing"):
        await asyncio.to_thread(client.http.post_json, f"/api/tips/{tip['id']}/messages", body)
    assert sms.fake.sent == []
