"""POST /twilio/sms as Twilio sends it: real signatures, real TwiML, real SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import Live
from tests.helpers.twilio_fake import FakeTwilio, sid, sign
from tests.twilio.conftest import REPORTER, SmsLive, sms_server, twiml_reply

pytestmark = pytest.mark.both_stores


async def test_valid_message_is_stored_sealed_and_answered_in_twiml(sms: SmsLive) -> None:
    status, twiml = await sms.text("Hello, my boss keeps my passport")
    assert status == 200
    reply = twiml_reply(twiml)
    assert reply is not None and "911" in reply and "traffick" not in reply.lower()
    tip, messages = await sms.read_only_tip()
    assert tip["channel"] == "sms"
    [m] = messages
    assert (m["direction"], m["body"], m["sender"]) == ("in", "Hello, my boss keeps my passport",
                                                        REPORTER)
    assert m["meta"]["twilio_fromcity"] == "SAN FRANCISCO"  # location: sealed, not in clear
    # in clear: a keyed hash of the number, never the number or its location
    [(thread_hash,)] = sms.query("SELECT thread_hash FROM tips")
    assert len(thread_hash) == 32 and REPORTER.encode() not in thread_hash
    assert sms.fake.requests == []  # a plain SMS needs nothing from Twilio's API


async def test_same_number_same_tip_and_one_auto_reply_per_window(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    async with sms_server(tmp_path, fake_twilio, HOTLINE_SMS_AUTO_REPLY_WINDOW="400ms") as sms:
        replies = [twiml_reply((await sms.text(f"message {i}"))[1]) for i in range(3)]
        assert replies[0] is not None and replies[1:] == [None, None]
        other = twiml_reply((await sms.text("another person", sender="+14155550999"))[1])
        assert other is not None  # each thread has its own window
        await asyncio.sleep(0.45)
        assert twiml_reply((await sms.text("later"))[1]) is not None
        assert sms.count("tips") == 2 and sms.count("messages") == 5


async def test_auto_reply_can_be_turned_off(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    async with sms_server(tmp_path, fake_twilio, HOTLINE_SMS_AUTO_REPLY="false") as sms:
        status, twiml = await sms.text("hello")
        assert status == 200 and twiml_reply(twiml) is None and sms.count("messages") == 1


@pytest.mark.parametrize("case", ["missing", "garbage", "other_token", "tampered", "other_path"])
async def test_bad_signature_is_refused_before_any_processing(sms: SmsLive, case: str) -> None:
    audit_before = sms.count("audit")
    form_sig = {
        "missing": "",
        "garbage": "bm90IGEgc2lnbmF0dXJl",
        "other_token": sign("0" * 32, sms.public_url + "/twilio/sms", {"Body": "x"}),
        "other_path": None,
        "tampered": None,
    }[case]
    if case == "tampered":  # signed for one body, another sent
        from tests.helpers.twilio_fake import incoming_sms_form
        signed = incoming_sms_form(account_sid=sms.fake.account_sid, sender=REPORTER, body="real")
        form_sig = sign(sms.fake.auth_token, sms.public_url + "/twilio/sms", signed)
        status, body = await sms.text("forged", sid=signed["MessageSid"], signature=form_sig)
    elif case == "other_path":
        from tests.helpers.twilio_fake import incoming_sms_form
        form = incoming_sms_form(account_sid=sms.fake.account_sid, sender=REPORTER, body="x")
        form_sig = sign(sms.fake.auth_token, sms.public_url + "/twilio/voice", form)
        status, body = await sms.text("x", sid=form["MessageSid"], signature=form_sig)
    else:
        status, body = await sms.text("hello", signature=form_sig)
    assert status == 403, body
    assert "signed" in body or "signature" in body
    assert sms.count("tips") == 0 and sms.count("messages") == 0
    assert sms.count("audit") == audit_before
    assert sms.fake.requests == []


async def test_wrong_account_is_refused(sms: SmsLive) -> None:
    status, body = await sms.text("hello", account_sid=sid("AC"))
    assert status == 403 and "account" in body
    assert sms.count("messages") == 0


async def test_public_url_with_port_and_query_string(sms: SmsLive) -> None:
    assert ":" in sms.public_url.rsplit("/", 1)[1]  # http://127.0.0.1:PORT
    status, twiml = await sms.text("with a query", path="/twilio/sms?site=main&x=a%20b")
    assert status == 200 and twiml_reply(twiml) is not None
    # the query string is signed: another one does not pass
    from tests.helpers.twilio_fake import incoming_sms_form
    form = incoming_sms_form(account_sid=sms.fake.account_sid, sender=REPORTER, body="q")
    signature = sign(sms.fake.auth_token, sms.public_url + "/twilio/sms?site=main", form)
    status, _ = await sms.text("q", sid=form["MessageSid"], signature=signature,
                               path="/twilio/sms?site=other")
    assert status == 403 and sms.count("messages") == 1


@pytest.mark.parametrize("signed_as", ["https://help.example.org", "https://help.example.org:443"])
async def test_https_public_url_behind_a_proxy_with_or_without_default_port(
        tmp_path: Path, fake_twilio: FakeTwilio, signed_as: str) -> None:
    async with sms_server(tmp_path, fake_twilio, public_url="https://help.example.org") as sms:
        from tests.helpers.twilio_fake import incoming_sms_form
        form = incoming_sms_form(account_sid=fake_twilio.account_sid, sender=REPORTER, body="hi")
        signature = sign(fake_twilio.auth_token, signed_as + "/twilio/sms", form)
        status, _ = await sms.text("hi", sid=form["MessageSid"], signature=signature)
        assert status == 200 and sms.count("messages") == 1


async def test_same_message_sid_twice_stores_one_message(sms: SmsLive) -> None:
    message_sid = sid("SM")
    first = await sms.text("they took my phone", sid=message_sid)
    again = await sms.text("they took my phone", sid=message_sid)
    assert first[0] == again[0] == 200
    # Twilio retries when our first answer was lost: the retry gets the same answer
    assert twiml_reply(first[1]) == twiml_reply(again[1]) is not None
    assert sms.count("messages") == 1
    # a new delivery in the same window gets no second automatic reply
    assert twiml_reply((await sms.text("one more thing"))[1]) is None


async def test_concurrent_retries_of_one_sid_store_once(sms: SmsLive) -> None:
    message_sid = sid("SM")
    results = await asyncio.gather(*(sms.text("same", sid=message_sid) for _ in range(5)))
    assert {r[0] for r in results} == {200}
    assert sms.count("messages") == 1 and sms.count("tips") == 1


async def test_unicode_and_emoji_round_trip_with_spanish_reply(sms: SmsLive) -> None:
    text = "Ayuda 🙏 por favor, estoy en peligro — 我需要帮助 ñandú 👩‍👧"
    status, twiml = await sms.text(text)
    assert status == 200
    reply = twiml_reply(twiml)
    assert reply is not None and reply.startswith("Gracias") and "911" in reply
    _, [m] = await sms.read_only_tip()
    assert m["body"] == text


async def test_1600_character_concatenated_message(sms: SmsLive) -> None:
    text = ("Line of a long concatenated message. " * 50)[:1599] + "!"
    assert len(text) == 1600
    status, _ = await sms.text(text, extra={"NumSegments": "11"})
    assert status == 200
    _, [m] = await sms.read_only_tip()
    assert m["body"] == text and m["meta"]["num_segments"] == "11"


async def test_language_keyword_gets_the_spanish_reply_inside_the_window(sms: SmsLive) -> None:
    first = twiml_reply((await sms.text("hello, I need to talk to someone"))[1])
    assert first is not None and first.startswith("Thank you")
    again = twiml_reply((await sms.text("ESPAÑOL"))[1])
    assert again is not None and again.startswith("Gracias")
    assert sms.count("messages") == 2  # the keyword is a message of the thread too


@pytest.mark.parametrize("body", ["STOP", "stop", " Unsubscribe ", "START", "help", "INFO", "yes"])
async def test_keywords_from_a_new_number_never_create_a_tip(sms: SmsLive, body: str) -> None:
    status, twiml = await sms.text(body)
    assert status == 200 and twiml_reply(twiml) is None  # Twilio answers keywords itself
    assert sms.count("tips") == 0 and sms.count("messages") == 0
    assert sms.count("sms_auto_replies") == 0 and sms.fake.requests == []


async def test_keyword_in_a_known_thread_is_recorded_without_a_reply(sms: SmsLive) -> None:
    await sms.text("they watch my phone")
    status, twiml = await sms.text("STOP")
    assert status == 200 and twiml_reply(twiml) is None
    _, messages = await sms.read_only_tip()
    assert [m["body"] for m in messages] == ["they watch my phone", "STOP"]
    assert messages[1]["meta"]["keyword"] == "opt_out"
    # Advanced Opt-Out's own parameter counts too, whatever the word
    await sms.text("ARRET", extra={"OptOutType": "STOP"})
    assert sms.count("tips") == 1 and sms.count("messages") == 3


async def test_a_sentence_with_a_keyword_is_a_report(sms: SmsLive) -> None:
    status, twiml = await sms.text("Stop please, help me")
    assert status == 200 and twiml_reply(twiml) is not None and sms.count("tips") == 1


async def test_whatsapp_is_marked_as_such(sms: SmsLive) -> None:
    status, twiml = await sms.text("hola, necesito ayuda", sender="whatsapp:" + REPORTER,
                                   to="whatsapp:+15005550006",
                                   extra={"ProfileName": "Maria", "WaId": REPORTER[1:]})
    assert status == 200
    reply = twiml_reply(twiml)
    assert reply is not None and reply.startswith("Gracias")
    tip, [m] = await sms.read_only_tip()
    assert tip["channel"] == "whatsapp"
    assert m["sender"] == "whatsapp:" + REPORTER and m["meta"]["whatsapp_profile_name"] == "Maria"
    # a WhatsApp thread is not the SMS thread of the same number
    await sms.text("sms now")
    assert sms.count("tips") == 2


async def test_without_twilio_credentials_the_endpoint_says_so(live: Live) -> None:
    async with aiohttp.ClientSession() as s, s.post(
            live.url + "/twilio/sms", data={"Body": "x"},
            headers={"X-Twilio-Signature": "x"}) as r:
        assert r.status == 503
        assert "Twilio is not configured" in (await r.json())["error"]


async def test_malformed_webhooks_get_a_clear_4xx(sms: SmsLive) -> None:
    async with sms.session.post(sms.url + "/twilio/sms", data=b"{}",
                                headers={"X-Twilio-Signature": "x",
                                         "Content-Type": "application/json"}) as r:
        assert r.status == 415
    async with sms.session.post(sms.url + "/twilio/sms", data=b"Body=" + b"a" * 70_000,
                                headers={"X-Twilio-Signature": "x",
                                         "Content-Type": "application/x-www-form-urlencoded"}) as r:
        assert r.status == 413
    # signed, but not an incoming message
    from tests.helpers.twilio_fake import signed_post
    form = {"AccountSid": sms.fake.account_sid, "From": REPORTER, "Body": "x"}
    status, body = await signed_post(sms.session, server=sms.url, path="/twilio/sms",
                                     public_url=sms.public_url, auth_token=sms.fake.auth_token,
                                     form=form)
    assert status == 400 and "MessageSid" in body
    assert sms.count("messages") == 0
