"""Write the committed seed corpora, ``fuzz/corpus/TARGET/``, from real valid inputs.

Run from the repository root: ``.venv/bin/python -m fuzz.make_seeds``. Every
seed is something the real senders produce: bodies rendered by aiohttp's
``MultipartWriter`` and in the shape Chromium and Firefox send, forms signed
the way Twilio signs them, the envelopes, key files and ``.pub`` files of
``crypto/vectors``, the default rule pack, receipts made by ``new_receipt``.
File names are content hashes, so re-running is idempotent.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

FUZZ_DIR = Path(__file__).resolve().parent
SEEDERS: dict[str, Callable[[], Iterable[bytes]]] = {}


def seeder(name: str) -> Callable[[Callable[[], Iterable[bytes]]], Callable[[], Iterable[bytes]]]:
    def register(fn: Callable[[], Iterable[bytes]]) -> Callable[[], Iterable[bytes]]:
        SEEDERS[name] = fn
        return fn

    return register


REGRESSIONS: dict[str, list[bytes]] = {
    # Inputs that once crashed a target, kept so every run (and CI's smoke) replays them.
    "forms": [b"application/x-www-form-urlencoded; charset=nope\n/twilio/sms\n\n\x00\nmessage=hola",
              b"multipart/form-data; bparf*\n/twilio/sms\n\n\x00\nmessage=hola"],
    "ivr": [b"lang=en\nCallSid=CA" + b"a" * 32 + b"%0A&From=%2B15551230000&Digits=1%0A"],
}


def write(name: str, seeds: Iterable[bytes]) -> int:
    folder = FUZZ_DIR / "corpus" / name
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for seed in seeds:
        (folder / hashlib.sha256(seed).hexdigest()[:16]).write_bytes(seed)
        count += 1
    return count


# -- multipart ------------------------------------------------------------------

def _aiohttp_body(fields: list[tuple[str, str | None, bytes, str | None]], boundary: str) -> bytes:
    import asyncio

    import aiohttp

    writer = aiohttp.MultipartWriter("form-data", boundary=boundary)
    for name, filename, value, ctype in fields:
        payload = writer.append(value, {"Content-Type": ctype} if ctype else None)
        params = {"name": name} if filename is None else {"name": name, "filename": filename}
        payload.set_content_disposition("form-data", **params)  # type: ignore[arg-type]

    class Sink:
        def __init__(self) -> None:
            self.data = bytearray()

        async def write(self, chunk: bytes) -> None:
            self.data += chunk

    sink = Sink()
    asyncio.run(writer.write(sink))  # type: ignore[arg-type]
    return bytes(sink.data)


def _browser_body(boundary: bytes, parts: list[tuple[bytes, bytes]]) -> bytes:
    out = b"".join(b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n" for head, data in parts)
    return out + b"--" + boundary + b"--\r\n"


@seeder("multipart")
def multipart_seeds() -> Iterable[bytes]:
    from fuzz.targets.multipart import SEED_BOUNDARY

    header = b"multipart/form-data; boundary=" + SEED_BOUNDARY + b"\n"
    text = b"Me quitaron el pasaporte.\r\nNo puedo salir.\r\n--not a boundary\r\n"
    yield header + _browser_body(SEED_BOUNDARY, [
        (b'Content-Disposition: form-data; name="csrf_token"', b"tok123"),
        (b'Content-Disposition: form-data; name="lang"', b"es"),
        (b'Content-Disposition: form-data; name="message"', text),
        (b'Content-Disposition: form-data; name="attachment"; filename=""\r\n'
         b"Content-Type: application/octet-stream", b""),
    ])
    yield header + _browser_body(SEED_BOUNDARY, [
        (b'Content-Disposition: form-data; name="message"', b"help"),
        (b'Content-Disposition: form-data; name="attachment"; filename="d\xc3\xa9claration %22x%22.pdf"'
         b"\r\nContent-Type: application/pdf", b"%PDF-1.7\x00\xff\r\n--"),
        (b'Content-Disposition: form-data; name="attachment"; filename="photo.jpg"\r\n'
         b"Content-Type: image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64))),
    ])
    yield header + b"--" + SEED_BOUNDARY + b"--\r\n"  # a form without successful controls
    for boundary in ("----hotlinefuzz", "a b:c?=()", "x" * 70):
        body = _aiohttp_body([
            ("csrf_token", None, b"tok", None),
            ("message", None, "n\u00e9cesito ayuda \U0001f198".encode(), "text/plain; charset=utf-8"),
            ("attachment", "nota \"1\".txt", b"line\r\nline", "text/plain"),
            ("attachment", "\u043f\u0430\u0441\u043f\u043e\u0440\u0442.png", b"\x89PNG\r\n\x1a\n",
             "image/png"),
        ], boundary)
        yield f'multipart/form-data; boundary="{boundary}"\n'.encode() + body


# -- forms (web form + Twilio webhooks) ------------------------------------------

ACCOUNT = "AC" + "0123456789abcdef" * 2


def _twilio_forms() -> list[tuple[str, dict[str, str]]]:
    """(path, form) pairs as Twilio posts them (tests/helpers/twilio_fake.py builds the SMS one)."""
    from tests.helpers.twilio_fake import incoming_sms_form

    sms = incoming_sms_form(account_sid=ACCOUNT, sender="+15551230000", body="Necesito ayuda, estoy en",
                            message_sid="SM" + "8" * 32)
    mms = incoming_sms_form(account_sid=ACCOUNT, sender="whatsapp:+447700900123", body="",
                            message_sid="MM" + "1" * 32,
                            media=[("https://api.twilio.com/2010-04-01/Accounts/" + ACCOUNT
                                    + "/Messages/MM" + "1" * 32 + "/Media/ME" + "2" * 32, "image/jpeg")])
    status = {"MessageSid": "SM" + "3" * 32, "MessageStatus": "undelivered", "ErrorCode": "30003",
              "AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "SmsStatus": "undelivered",
              "To": "+15551230000", "From": "+15005550006"}
    return [("/twilio/sms", sms), ("/twilio/sms", mms), ("/twilio/sms/status", status)]


@seeder("forms")
def forms_seeds() -> Iterable[bytes]:
    from urllib.parse import urlencode

    from fuzz.targets.forms import PUBLIC_URLS, twilio_signature

    web = urlencode({"csrf_token": "1764770000.abcdef", "lang": "es", "message": "Me quitaron el pasaporte"})
    for path, form in _twilio_forms():
        body = urlencode(form)
        signature = twilio_signature(PUBLIC_URLS[0] + path, list(form.items()))
        yield (b"application/x-www-form-urlencoded\n" + path.encode() + b"\n" + signature.encode()
               + b"\n\x01\n" + body.encode())
    yield b"application/x-www-form-urlencoded; charset=UTF-8\n/twilio/sms?x=1\n\n\x00\n" + web.encode()
    for seed in multipart_seeds():
        content_type, _, multipart_body = seed.partition(b"\n")
        yield content_type + b"\n/twilio/sms\n\n\x00\n" + multipart_body


# -- ivr (voice webhooks and step queries) ----------------------------------------

def _voice_forms() -> list[tuple[str, dict[str, str]]]:
    """(step query, form) as Twilio posts them to the IVR (tests/voice/conftest.py's shapes)."""
    call = {
        "AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "CallSid": "CA" + "4" * 32,
        "CallStatus": "in-progress", "Called": "+15005550006", "CalledCity": "", "CalledCountry": "US",
        "CalledState": "CA", "CalledZip": "", "Caller": "+15551230000", "CallerCity": "OAKLAND",
        "CallerCountry": "US", "CallerState": "CA", "CallerZip": "94607", "Direction": "inbound",
        "From": "+15551230000", "FromCity": "OAKLAND", "FromCountry": "US", "FromState": "CA",
        "FromZip": "94607", "To": "+15005550006", "ToCity": "", "ToCountry": "US", "ToState": "CA",
        "ToZip": "",
    }
    recording = {"RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/" + ACCOUNT
                 + "/Recordings/RE" + "5" * 32, "RecordingSid": "RE" + "5" * 32,
                 "RecordingDuration": "12"}
    return [
        ("try=1", {**call, "Digits": "2"}),
        ("lang=es&try=2", {**call, "Digits": "1"}),
        ("lang=en&choice=talk&order=3-1-7&n=1", {**call, "DialCallStatus": "no-answer",
                                                 "DialCallSid": "CA" + "6" * 32, "DialCallDuration": "0"}),
        ("lang=es", {**call, **recording, "Digits": "#"}),
        ("lang=en", {"AccountSid": ACCOUNT, "CallSid": call["CallSid"], "RecordingStatus": "completed",
                     **recording, "RecordingChannels": "1", "RecordingSource": "RecordVerb",
                     "RecordingStartTime": "Mon, 01 Jan 2024 00:00:00 +0000", "ErrorCode": "0"}),
        ("", {"AccountSid": ACCOUNT, "CallSid": call["CallSid"], "TranscriptionSid": "TR" + "7" * 32,
              "TranscriptionText": "me tienen encerrada", "TranscriptionStatus": "completed",
              "RecordingSid": recording["RecordingSid"], "RecordingUrl": recording["RecordingUrl"],
              "TranscriptionUrl": "https://api.twilio.com/x", "ApiVersion": "2010-04-01"}),
        ("", {**call, "CallStatus": "completed", "CallDuration": "95", "From": "anonymous"}),
    ]


@seeder("ivr")
def ivr_seeds() -> Iterable[bytes]:
    from urllib.parse import urlencode

    for query, form in _voice_forms():
        yield query.encode() + b"\n" + urlencode(form).encode()


# -- rules (the default pack) -----------------------------------------------------

@seeder("rules")
def rules_seeds() -> Iterable[bytes]:
    """The default pack's files whole, and each rule alone after its file's [pack] and [lists]."""
    from triage_rules import default_pack_dir

    for file in sorted(default_pack_dir().glob("*.toml")):
        text = file.read_bytes()
        yield text
        head, *rules = text.split(b"\n[[rule]]\n")
        for rule in rules:
            yield head + b"\n[[rule]]\n" + rule


# -- crypto (crypto/vectors) ------------------------------------------------------

def _vector(name: str) -> dict[str, Any]:
    import json

    return dict(json.loads((FUZZ_DIR.parent / "crypto" / "vectors" / f"{name}.json").read_text("utf-8")))


@seeder("envelope")
def envelope_seeds() -> Iterable[bytes]:
    """The vector envelope and its reseal (selector 0), the vector part streams (1, 3)."""
    env = _vector("envelope")
    yield b"\x00" + bytes.fromhex(env["envelope"])
    yield b"\x00" + bytes.fromhex(env["reseal"]["envelope"])
    for stream in _vector("part")["streams"]:
        yield (b"\x01" if int(stream["part"]) == 1 else b"\x03") + bytes.fromhex(stream["stream"])


@seeder("keyfiles")
def keyfiles_seeds() -> Iterable[bytes]:
    """The vector key file (plain, with checksum fix-up, with a wrong passphrase) and .pub file."""
    keyfile = bytes.fromhex(_vector("keyfile")["keyfile"])
    for selector in (b"\x00", b"\x02", b"\x04"):
        yield selector + keyfile
    yield b"\x01" + _vector("pubfile")["pub_file"].encode("utf-8")


# -- receipts ---------------------------------------------------------------------

@seeder("receipts")
def receipts_seeds() -> Iterable[bytes]:
    """Receipts as reporters type them back: the vector's entropy and fixed ones, in both languages."""
    from hotline.receipts import encode

    for entropy in (bytes.fromhex(_vector("receipt")["entropy"]), bytes(16), b"\xff" * 16):
        for lang in ("en", "es"):
            words = encode(entropy, lang)
            yield " ".join(words).encode("utf-8")
            yield "\n".join(f"{i}. {w.upper()}," for i, w in enumerate(words, start=1)).encode("utf-8")


def main(names: list[str]) -> int:
    for name in names or list(SEEDERS):
        print(name, write(name, [*SEEDERS[name](), *REGRESSIONS.get(name, [])]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
