"""The pure parts of the Twilio channel: signatures (Twilio's own vectors),
keywords, language, the auto-reply texts and their neutrality, media URLs,
the webhook form, configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict, MultiDictProxy
from twilio.request_validator import RequestValidator

from hotline.config import load_config
from hotline.errors import BadRequest, ConfigError
from hotline.twilio.rest import TwilioFailure, media_location
from hotline.twilio.texts import (
    LANGUAGES,
    AutoReplyTexts,
    Keyword,
    auto_reply_problem,
    detect_language,
    keyword_of,
    language_keyword,
)
from hotline.twilio.webhook import parse_form, parse_incoming, signature_is_valid, webhook_url

# TWILIO.md §1: twilio-python's own test vectors
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309",
                 "To": "+18005551212", "Caller": "+14158675309"}


def test_signature_vectors_with_and_without_the_default_port() -> None:
    params = MultiDictProxy(MultiDict(VECTOR_PARAMS))
    assert signature_is_valid("12345", VECTOR_URL, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert signature_is_valid("12345", VECTOR_URL, params, "kvajT1Ptam85bY51eRf/AJRuM3w=")
    assert not signature_is_valid("12345", VECTOR_URL, params, None)
    assert not signature_is_valid("12346", VECTOR_URL, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    tampered = MultiDictProxy(MultiDict({**VECTOR_PARAMS, "Digits": "1235"}))
    assert not signature_is_valid("12345", VECTOR_URL, tampered, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


_URLS = st.sampled_from(["https://help.example.org/twilio/sms", "https://help.example.org:443/t",
                         "http://127.0.0.1:8080/twilio/sms?site=a%20b", "http://x.org/p?q=1&r=",
                         "https://h.example:8443/sms", "http://x.org:80/sms"])
_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)


@given(token=st.text(min_size=1, max_size=8), url=_URLS,
       pairs=st.lists(st.tuples(st.sampled_from(["Body", "From", "body", "Media", "To", "É"]), _TEXT),
                      max_size=8),
       signed_with=st.sampled_from(["same", "with_port", "without_port", "other"]))
def test_signature_check_agrees_with_twilios_validator(
        token: str, url: str, pairs: list[tuple[str, str]], signed_with: str) -> None:
    """Our one-pass check says what ``RequestValidator.validate`` says, on both answers:
    repeated names, repeated and blank values, case, non-ASCII, ports, query strings."""
    from urllib.parse import urlparse

    from twilio.request_validator import add_port, remove_port
    params = MultiDictProxy(MultiDict(pairs))
    validator = RequestValidator(token)
    signed_url = {"same": url, "with_port": add_port(urlparse(url)),
                  "without_port": remove_port(urlparse(url)), "other": url + "x"}[signed_with]
    signature = validator.compute_signature(signed_url, params)
    for candidate in (signature, signature[:-2] + "A=", signature.lower()):
        assert signature_is_valid(token, url, params, candidate) == \
            validator.validate(url, params, candidate)
    assert signature_is_valid(token, url, params, signature) == (signed_with != "other")


@pytest.mark.parametrize("signature", ["é" * 28, "\udcff" * 28, "x" * 10_000,
                                       " RSOYDt4T1cUTdK1PDd93/VVr8B8="])
def test_a_signature_that_is_not_base64_ascii_is_invalid_not_an_error(signature: str) -> None:
    params = MultiDictProxy(MultiDict(VECTOR_PARAMS))
    assert not signature_is_valid("12345", VECTOR_URL, params, signature)


def test_webhook_url_keeps_a_path_prefix_and_the_raw_query() -> None:
    assert webhook_url("https://x.org/hotline/", "/twilio/sms?a=b%20c") == \
        "https://x.org/hotline/twilio/sms?a=b%20c"


def test_parse_form_keeps_blank_values_and_refuses_bad_utf8() -> None:
    form = parse_form(b"FromCity=&Body=caf%C3%A9&MediaUrl0=a&MediaUrl0=b")
    assert form["FromCity"] == "" and form["Body"] == "café" and form.getall("MediaUrl0") == ["a", "b"]
    with pytest.raises(BadRequest, match="UTF-8"):
        parse_form(b"Body=%FF")


@given(st.binary(max_size=300))
def test_parse_form_fails_only_with_bad_request(data: bytes) -> None:
    try:
        parse_form(data)
    except BadRequest:
        pass


def _form(**kw: str) -> dict[str, str]:
    return {"MessageSid": "SM" + "a" * 32, "AccountSid": "AC" + "b" * 32, "From": "+1415",
            "Body": "x", **kw}


@pytest.mark.parametrize(("fields", "error"), [
    ({"MessageSid": "nope"}, "MessageSid is malformed"),
    ({"From": ""}, "no From"),
    ({"NumMedia": "11"}, "NumMedia is out of range"),
    ({"NumMedia": "x"}, "NumMedia is not a number"),
    ({"NumMedia": "1"}, "no MediaUrl0"),
])
def test_parse_incoming_names_the_bad_field_not_its_value(fields: dict[str, str], error: str) -> None:
    with pytest.raises(BadRequest, match=error) as e:
        parse_incoming(_form(**fields), max_media=10)
    assert "+1415" not in str(e.value)


def test_parse_incoming_caps_media_and_seals_location() -> None:
    form = _form(NumMedia="3", MediaUrl0="u0", MediaUrl1="u1", MediaUrl2="u2",
                 MediaContentType0="image/png", FromCity="X", ToCity="Y", FromZip="")
    msg = parse_incoming(form, max_media=2)
    assert [m.url for m in msg.media] == ["u0", "u1"] and msg.num_media == 3
    assert msg.location == {"FromCity": "X"}  # our own number's location is dropped
    assert msg.media[1].content_type == "application/octet-stream"
    assert "+1415" not in repr(msg) and "u0" not in repr(msg)


@pytest.mark.parametrize(("body", "kind"), [
    ("STOP", Keyword.OPT_OUT), (" stop\n", Keyword.OPT_OUT), ("Unsubscribe", Keyword.OPT_OUT),
    ("stopall", Keyword.OPT_OUT), ("START", Keyword.OPT_IN), ("unstop", Keyword.OPT_IN),
    ("yes", Keyword.OPT_IN), ("HELP", Keyword.HELP), ("info", Keyword.HELP),
    ("Stop please", None), ("help me", None), ("", None), ("STOP STOP", None),
])
def test_keywords_are_whole_body_and_case_insensitive(body: str, kind: Keyword | None) -> None:
    assert keyword_of(body) is kind


def test_opt_out_type_parameter_wins() -> None:
    assert keyword_of("ARRET", "STOP") is Keyword.OPT_OUT
    assert keyword_of("anything", "HELP") is Keyword.HELP


@pytest.mark.parametrize(("body", "lang"), [
    ("ESPAÑOL", "es"), ("espanol", "es"), ("Español!", "es"), ("SPANISH", "es"),
    ("English", "en"), ("inglés", "en"), ("hola", None), ("español por favor", None),
])
def test_language_keywords(body: str, lang: str | None) -> None:
    assert language_keyword(body) == lang


@pytest.mark.parametrize(("text", "lang"), [
    ("Hola, necesito ayuda, mi jefe tiene mi pasaporte", "es"),
    ("¿Dónde estás?", "es"),
    ("Hello, I need help, my boss has my passport", "en"),
    ("ok", None), ("", None), ("12345", None), ("🙏🙏", None),
])
def test_language_detection(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang


@given(st.text(max_size=500))
def test_text_helpers_never_raise(text: str) -> None:
    keyword_of(text)
    language_keyword(text)
    assert detect_language(text) in ("en", "es", None)


def test_language_detection_looks_at_a_bounded_prefix() -> None:
    assert detect_language("hola " * 1_000_000) == "es"


def test_shipped_auto_replies_are_neutral_translated_and_carry_the_emergency_number() -> None:
    texts = AutoReplyTexts("112", "en")
    for lang in LANGUAGES:
        assert "112" in texts.text(lang) and "{" not in texts.text(lang)
    assert texts.text("es") != texts.text("en") and texts.text("es").startswith("Gracias")
    assert texts.text(None) == texts.text("fr") == texts.text("en")
    assert AutoReplyTexts("112", "es").text(None) == texts.text("es")


@pytest.mark.parametrize(("text", "problem"), [
    ("Anti-Trafficking Hotline: call {emergency}", "neutral"),
    ("Línea contra la trata: {emergency}", "neutral"),
    ("Thanks, we got it.", "{emergency}"),
    ("x" * 400 + "{emergency}", "at most"),
    ("Thanks. In danger now? Call {emergency}.", None),
])
def test_operator_auto_reply_is_checked(text: str, problem: str | None) -> None:
    found = auto_reply_problem(text)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_auto_reply_override_in_config(tmp_path: Path) -> None:
    (tmp_path / "hotline.toml").write_text("")
    with pytest.raises(ConfigError, match=r"HOTLINE_SMS_AUTO_REPLY_EN"):
        load_config(tmp_path, env={"HOTLINE_SMS_AUTO_REPLY_EN": "Trafficking line {emergency}"})
    cfg = load_config(tmp_path, env={"HOTLINE_SMS_AUTO_REPLY_EN": "Got it. Danger? {emergency}",
                                     "HOTLINE_TWILIO_DELETE_MEDIA": "no",
                                     "HOTLINE_TWILIO_RETRY_BACKOFF": "1s, 250ms"})
    assert cfg["twilio.delete_media"] is False and cfg["twilio.retry_backoff"] == (1.0, 0.25)
    texts = AutoReplyTexts("911", "en", {"en": cfg["sms.auto_reply_en"]})
    assert texts.text("en") == "Got it. Danger? 911"
    for bad in ({"HOTLINE_TWILIO_DELETE_MEDIA": "maybe"}, {"HOTLINE_TWILIO_RETRY_BACKOFF": ""},
                {"HOTLINE_TWILIO_TIMEOUT": "2m"}, {"HOTLINE_SMS_MAX_MEDIA": "11"}):
        with pytest.raises(ConfigError):
            load_config(tmp_path, env=bad)


ACCOUNT = "AC" + "1" * 32
MEDIA_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{'2' * 32}/Media/ME{'3' * 32}"


@pytest.mark.parametrize(("url", "ok"), [
    ("https://api.twilio.com" + MEDIA_PATH, True),
    ("http://127.0.0.1:9999" + MEDIA_PATH, True),  # the configured API base
    ("https://API.twilio.com" + MEDIA_PATH, True),
    ("http://api.twilio.com" + MEDIA_PATH, False),
    ("https://api.twilio.com.evil.net" + MEDIA_PATH, False),
    ("https://api.twilio.com" + MEDIA_PATH.replace("1" * 32, "4" * 32), False),
    ("https://api.twilio.com" + MEDIA_PATH + "?x=1", False),
    ("https://api.twilio.com" + MEDIA_PATH + "/../../Calls", False),
])
def test_media_urls_must_be_our_accounts_twilio_media(url: str, ok: bool) -> None:
    where = media_location(url, api_base="http://127.0.0.1:9999", account_sid=ACCOUNT)
    assert (where is not None) is ok
    if where is not None:
        assert where.path == MEDIA_PATH


def test_twilio_failures_are_content_free() -> None:
    assert TwilioFailure("x", status=400, code=21610, permanent=True).summary == \
        "Twilio error 21610: the reporter has opted out (they replied STOP)"
    assert TwilioFailure("Twilio had an error", status=502).summary == "Twilio had an error (HTTP 502)"
    assert TwilioFailure("x", code=12345).summary == "Twilio error 12345"
