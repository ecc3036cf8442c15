"""``hotline simulate sms|voice DIR``: play Twilio's part against a running instance.

``voice`` follows a whole call's TwiML (``hotline.voice.simulator``); ``sms``:

It reads the instance's configuration (public URL, Twilio account SID and
token, the hotline number, environment overrides included), builds the form
Twilio posts for an incoming message, with every field Twilio sends, signs it
with twilio's ``RequestValidator`` over the public URL, posts it, and prints
the automatic reply from the TwiML answer. For demos and manual testing.
"""

from __future__ import annotations

import argparse
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from twilio.request_validator import RequestValidator

from ..config import load_config
from ..errors import ClientError, UsageError
from ..twilio.simulated_post import post_as_twilio
from .common import print_json

SMS_PATH = "/twilio/sms"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = sub.add_parser("simulate", help="drive a running instance as a reporter or Twilio would")
    kinds = group.add_subparsers(dest="sub", required=True, metavar="CHANNEL")
    p = kinds.add_parser("sms", help="post a signed incoming-SMS webhook, as Twilio would")
    p.add_argument("dir", help="the instance folder (for its public URL and Twilio credentials)")
    p.add_argument("--from", dest="sender", required=True, help="the texter's number (E.164)")
    p.add_argument("--body", default="", help="the message text")
    p.add_argument("--media", action="append", default=[], metavar="URL[;TYPE]",
                   help="a media URL as Twilio would send it (repeatable)")
    p.add_argument("--whatsapp", action="store_true", help="as a WhatsApp message")
    p.add_argument("--sid", help="the MessageSid (default: a new random one)")
    p.add_argument("--server", help="where to post (default: the instance's public URL)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_simulate_sms)
    v = kinds.add_parser("voice", help="play Twilio's part in a phone call, following the TwiML")
    v.add_argument("dir", help="the instance folder (for its public URL and Twilio credentials)")
    v.add_argument("--from", dest="sender", required=True, help="the caller's number (E.164)")
    v.add_argument("--lang", help="the language chosen at the language menu (default: the first)")
    v.add_argument("--press", choices=["1", "2", "3"],
                   help="the key at the main menu: 1 talk now, 2 leave a message, 3 danger "
                        "(default: none, so the menu repeats, then records)")
    v.add_argument("--dial", default="no-answer",
                   choices=["completed", "no-answer", "busy", "failed"],
                   help="how every advocate's phone answers (default: no-answer)")
    v.add_argument("--talk-seconds", type=int, default=60, help="length of an answered call")
    v.add_argument("--recording", metavar="FILE",
                   help="the voicemail to leave; served on HOTLINE_TWILIO_API_BASE (local http)")
    v.add_argument("--wait", type=float, default=30.0,
                   help="seconds to wait for the instance to fetch and delete the recording")
    v.add_argument("--server", help="where to post (default: the instance's public URL)")
    v.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(func=cmd_simulate_voice)


def incoming_form(*, account_sid: str, sender: str, to: str, body: str,
                  media: list[tuple[str, str]], message_sid: str) -> dict[str, str]:
    form = {
        "ToCountry": "", "ToState": "", "SmsMessageSid": message_sid, "NumMedia": str(len(media)),
        "ToCity": "", "FromZip": "", "SmsSid": message_sid, "FromState": "",
        "SmsStatus": "received", "FromCity": "", "Body": body, "FromCountry": "", "To": to,
        "ToZip": "", "NumSegments": str(max(1, -(-len(body) // 153))),
        "MessageSid": message_sid, "AccountSid": account_sid, "From": sender,
        "ApiVersion": "2010-04-01",
    }
    for i, (url, ctype) in enumerate(media):
        form[f"MediaUrl{i}"], form[f"MediaContentType{i}"] = url, ctype
    return form


def _media(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for v in values:
        url, _, ctype = v.partition(";")
        out.append((url, ctype or "application/octet-stream"))
    if len(out) > 10:
        raise UsageError("Twilio sends at most 10 media per message")
    return out


def reply_text(twiml: str) -> str | None:
    """The text of the first ``<Message>`` in a TwiML answer, if any."""
    try:
        root = ET.fromstring(twiml)  # noqa: S314 - our own server's answer, no entities
    except ET.ParseError:
        raise ClientError("the server did not answer with TwiML") from None
    message = root.find("Message")
    if message is None:
        return None
    body = message.find("Body")
    return (body.text if body is not None else message.text) or ""


def cmd_simulate_sms(args: argparse.Namespace) -> int:
    config = load_config(Path(args.dir))
    if not config.twilio_enabled:
        raise UsageError("Twilio is not configured for this instance: set "
                         "HOTLINE_TWILIO_ACCOUNT_SID and HOTLINE_TWILIO_AUTH_TOKEN")
    prefix = "whatsapp:" if args.whatsapp else ""
    number = config["twilio.number"] or "+15005550006"
    media = _media(args.media)
    sid = args.sid or ("MM" if media else "SM") + secrets.token_hex(16)
    form = incoming_form(account_sid=config["twilio.account_sid"], sender=prefix + args.sender,
                         to=prefix + number, body=args.body, media=media, message_sid=sid)
    public = config["service.public_url"]
    signature = RequestValidator(config["twilio.auth_token"]).compute_signature(
        public + SMS_PATH, form)
    status, text = post_as_twilio((args.server or public).rstrip("/") + SMS_PATH, form, signature)
    result: dict[str, Any] = {"status": status, "message_sid": sid, "reply": reply_text(text)}
    if args.json:
        print_json(result)
    else:
        print(f"Posted {sid}: HTTP {status}")
        print(f"Reply: {result['reply']}" if result["reply"] is not None else "No reply.")
    return 0


def cmd_simulate_voice(args: argparse.Namespace) -> int:
    from ..voice.simulator import CallScript, VoiceSimulator, recording_seconds

    config = load_config(Path(args.dir))
    simulator = VoiceSimulator(config, args.server)
    languages = list(config["voice.languages"])
    if args.lang is not None and args.lang not in languages:
        raise UsageError(f"--lang must be one of {', '.join(languages)}")
    data = None
    seconds = 0
    if args.recording:
        path = Path(args.recording)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise UsageError(f"{path}: {e.strerror}") from None
        seconds = recording_seconds(data, path)
    transcript = simulator.run(CallScript(
        sender=args.sender, lang=args.lang or languages[0], press=args.press, dial=args.dial,
        talk_seconds=args.talk_seconds, recording=data, recording_seconds=seconds,
        wait=args.wait))
    if args.json:
        print_json({"call_sid": simulator.call_sid, "steps": transcript.steps})
        return 0
    print(f"Call {simulator.call_sid}")
    for step in transcript.steps:
        kind = step.pop("step")
        if kind == "heard":
            for text in step["said"]:
                print(f"  heard: {text}")
        elif kind == "note":
            print(f"  note: {step['text']}")
        elif kind == "no_message":
            print("  no message left (give --recording FILE to leave a voicemail)")
        else:
            print(f"  {kind}: " + ", ".join(f"{k}={v}" for k, v in step.items()))
    return 0
