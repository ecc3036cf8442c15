"""``hotline simulate voice``: play Twilio's part in a phone call against a running instance.

It posts the incoming-call webhook with the fields Twilio sends, signed with
twilio's ``RequestValidator`` over the instance's public URL, then follows the
TwiML it gets back the way Twilio would: a ``<Gather>`` is answered with the
caller's key (the language's key at the language menu, ``--press`` at the
main menu) or, with none, the verb after it; a ``<Dial>`` gets ``--dial`` as
every advocate's outcome; a ``<Record>`` gets ``--recording``; a
``<Hangup>`` (or the end of the document) ends the call with the status
callback. With ``--recording``, it also stands in for Twilio's REST API on
the instance's ``HOTLINE_TWILIO_API_BASE`` (which must then be a local
``http://`` URL), serves the file to the instance's fetch, and waits until
the instance has deleted it: the whole voicemail path, end to end. When a
Twilio stand-in already listens there (``hotline demo`` runs one), the
recording is left with it instead.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import wave
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

from twilio.request_validator import RequestValidator

from ..config import Config
from ..errors import ClientError, UsageError
from ..twilio.simulated_post import post_as_twilio

API_VERSION: Final = "2010-04-01"
MAX_STEPS: Final = 20


@dataclass(frozen=True)
class CallScript:
    """What the simulated caller does."""

    sender: str
    lang: str | None
    press: str | None
    dial: str
    talk_seconds: int
    recording: bytes | None
    recording_seconds: int
    wait: float


@dataclass
class Transcript:
    steps: list[dict[str, Any]] = field(default_factory=list)

    def add(self, **kw: Any) -> None:
        self.steps.append(kw)


def recording_seconds(data: bytes, path: Path) -> int:
    """The length of a WAV file (or a size-based guess for anything else)."""
    try:
        with wave.open(str(path)) as w:
            return max(1, round(int(w.getnframes()) / int(w.getframerate())))
    except (wave.Error, EOFError, OSError):
        return max(1, len(data) // 16000)


class _RecordingStandIn:
    """Twilio's REST API for one recording: GET (Basic auth) and DELETE, on 127.0.0.1."""

    def __init__(self, api_base: str, account_sid: str, token: str, recording_sid: str,
                 data: bytes) -> None:
        parts = urllib.parse.urlsplit(api_base)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise UsageError("--recording needs HOTLINE_TWILIO_API_BASE to be a local http:// URL "
                             "(e.g. http://127.0.0.1:8099) that the simulator can serve")
        self.fetched = self.deleted = False
        path = f"/{API_VERSION}/Accounts/{account_sid}/Recordings/{recording_sid}"
        auth = "Basic " + base64.b64encode(f"{account_sid}:{token}".encode()).decode()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet: no request lines on stderr
                pass

            def _answer(self, status: int, body: bytes = b"", ctype: str = "application/json"
                        ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.headers.get("Authorization") != auth:
                    return self._answer(401, b'{"code": 20003, "status": 401}')
                if stand_in.deleted or self.path not in (path, path + ".wav", path + ".mp3"):
                    return self._answer(404, b'{"code": 20404, "status": 404}')
                stand_in.fetched = True
                return self._answer(200, data, "audio/x-wav")

            def do_DELETE(self) -> None:
                if self.headers.get("Authorization") != auth or self.path != path + ".json":
                    return self._answer(404, b'{"code": 20404, "status": 404}')
                stand_in.deleted = True
                return self._answer(204)

        try:
            self.server = ThreadingHTTPServer((parts.hostname or "127.0.0.1", parts.port or 80),
                                              Handler)
        except OSError as e:
            raise ClientError(f"cannot serve the recording on {api_base}: {e.strerror} "
                              "(is something else listening there?)") from None
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _RunningStandIn:
    """The recording left on a stand-in that already listens on the API base (``hotline demo``)."""

    def __init__(self, api_base: str, data: bytes) -> None:
        self.base = api_base.rstrip("/")
        answer = _local_json(self.base + "/standin/recordings", data)
        self.recording_sid = str(answer["sid"])

    @staticmethod
    def running_at(api_base: str) -> bool:
        parts = urllib.parse.urlsplit(api_base)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            return False
        try:
            return _local_json(api_base.rstrip("/") + "/standin").get("standin") == "twilio"
        except (OSError, ValueError):
            return False

    def _state(self) -> dict[str, Any]:
        return _local_json(f"{self.base}/standin/recordings/{self.recording_sid}")

    @property
    def fetched(self) -> bool:
        return bool(self._state()["fetched"])

    @property
    def deleted(self) -> bool:
        return bool(self._state()["deleted"])

    def close(self) -> None:
        pass


def _local_json(url: str, data: bytes | None = None) -> dict[str, Any]:
    """GET (or POST ``data`` as a WAV to) the stand-in; ``url`` is a checked local http URL."""
    import json

    request = urllib.request.Request(  # noqa: S310 - a local http:// URL, checked by the caller
        url, data=data, method="POST" if data is not None else "GET",
        headers={"Content-Type": "audio/x-wav"} if data is not None else {})
    with urllib.request.urlopen(request, timeout=5) as r:  # noqa: S310 - as above
        value = json.loads(r.read())
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


class VoiceSimulator:
    def __init__(self, config: Config, server: str | None,
                 post: Callable[[str, dict[str, str], str], tuple[int, str]] | None = None) -> None:
        if not config.twilio_enabled:
            raise UsageError("Twilio is not configured for this instance: set "
                             "HOTLINE_TWILIO_ACCOUNT_SID and HOTLINE_TWILIO_AUTH_TOKEN")
        self.config = config
        self.public = str(config["service.public_url"]).rstrip("/")
        self.server = (server or self.public).rstrip("/")
        self.account = str(config["twilio.account_sid"])
        self.token = str(config["twilio.auth_token"])
        self.number = str(config["twilio.number"]) or "+15005550006"
        self._post = post or post_as_twilio
        self.call_sid = "CA" + secrets.token_hex(16)

    def _params(self, sender: str, status: str) -> dict[str, str]:
        return {"AccountSid": self.account, "ApiVersion": API_VERSION, "CallSid": self.call_sid,
                "CallStatus": status, "Called": self.number, "Caller": sender,
                "Direction": "inbound", "From": sender, "To": self.number, "FromCity": "",
                "FromState": "", "FromZip": "", "FromCountry": "", "ToCity": "", "ToState": "",
                "ToZip": "", "ToCountry": ""}

    def _send(self, url: str, form: dict[str, str]) -> tuple[int, str]:
        if not url.startswith(self.public):
            raise ClientError("the TwiML names a URL outside the instance's public URL")
        signature = RequestValidator(self.token).compute_signature(url, form)
        return self._post(self.server + url[len(self.public):], form, signature)

    def run(self, script: CallScript) -> Transcript:
        out = Transcript()
        recording_sid = "RE" + secrets.token_hex(16)
        api_base = str(self.config["twilio.api_base"])
        stand_in: _RecordingStandIn | _RunningStandIn | None = None
        if script.recording is not None and _RunningStandIn.running_at(api_base):
            stand_in = _RunningStandIn(api_base, script.recording)
            recording_sid = stand_in.recording_sid
        elif script.recording is not None:
            stand_in = _RecordingStandIn(api_base, self.account, self.token, recording_sid,
                                         script.recording)
        try:
            self._call(script, out, recording_sid, stand_in)
        finally:
            if stand_in is not None:
                stand_in.close()
        return out

    def _call(self, script: CallScript, out: Transcript, recording_sid: str,
              stand_in: _RecordingStandIn | _RunningStandIn | None) -> None:
        status, twiml = self._send(self.public + "/twilio/voice", self._params(script.sender, "ringing"))
        languages = list(self.config["voice.languages"])
        lang_key = str(languages.index(script.lang) + 1) if script.lang in languages else None
        dialled = pressed_talk = False
        for _ in range(MAX_STEPS):
            root = _parse(twiml)
            out.add(step="heard", said=_heard(root))
            verbs = [e.tag for e in root]
            params = self._params(script.sender, "in-progress")
            if "Gather" in verbs:
                gather = root.find("Gather")
                assert gather is not None
                action = gather.get("action", "")
                key = lang_key if "/language" in action else script.press
                if key:
                    out.add(step="pressed", key=key)
                    pressed_talk = pressed_talk or ("/language" not in action and key == "1")
                    status, twiml = self._send(action, {**params, "Digits": key})
                    lang_key = lang_key if "/language" not in action else None
                    script = script if "/language" in action else _pressed(script)
                else:
                    out.add(step="silence")
                    redirect = root.find("Redirect")
                    if redirect is None or not redirect.text:
                        break
                    status, twiml = self._send(redirect.text, params)
                continue
            if "Dial" in verbs:
                dialled = True
                dial = root.find("Dial")
                assert dial is not None
                number = dial.find("Number")
                out.add(step="dialled", caller_id=dial.get("callerId"),
                        outcome=script.dial, to=number.text if number is not None else dial.text)
                form = {**params, "DialCallStatus": script.dial,
                        "DialCallSid": "CA" + secrets.token_hex(16)}
                if script.dial == "completed":
                    form["DialCallDuration"] = str(script.talk_seconds)
                status, twiml = self._send(dial.get("action", ""), form)
                continue
            if "Record" in verbs and script.press is None and not dialled and pressed_talk:
                out.add(step="note", text="no advocate on call could be rung: none has a phone "
                                          "number (hotline advocate add … --phone), so the call "
                                          "went to voicemail")
            if "Record" in verbs:
                record = root.find("Record")
                assert record is not None
                after = self._record(record, params, script, recording_sid, stand_in, out)
                if after is None:
                    break
                twiml = after
                continue
            break
        self._send(self.public + "/twilio/voice/status",
                   {**self._params(script.sender, "completed"), "CallDuration": "60"})
        out.add(step="hung_up", status=status)

    def _record(self, record: ET.Element, params: dict[str, str], script: CallScript,
                recording_sid: str, stand_in: _RecordingStandIn | _RunningStandIn | None,
                out: Transcript) -> str | None:
        if stand_in is None or script.recording is None:
            out.add(step="no_message")
            return None
        url = f"https://api.twilio.com/{API_VERSION}/Accounts/{self.account}/Recordings/{recording_sid}"
        fields = {"RecordingUrl": url, "RecordingSid": recording_sid,
                  "RecordingDuration": str(script.recording_seconds)}
        _, twiml = self._send(record.get("action", ""), {**params, **fields, "Digits": "#"})
        callback = record.get("recordingStatusCallback")
        if callback:
            self._send(callback, {"AccountSid": self.account, "CallSid": self.call_sid,
                                  **fields, "RecordingStatus": "completed",
                                  "RecordingChannels": "1", "RecordingSource": "RecordVerb",
                                  "ErrorCode": "0"})
        deadline = time.monotonic() + script.wait
        while time.monotonic() < deadline and not (stand_in.fetched and stand_in.deleted):
            time.sleep(0.05)
        out.add(step="recorded", recording_sid=recording_sid, fetched=stand_in.fetched,
                deleted_at_twilio=stand_in.deleted)
        return twiml


def _pressed(script: CallScript) -> CallScript:
    """After the main menu the caller presses nothing more."""
    return CallScript(script.sender, script.lang, None, script.dial, script.talk_seconds,
                      script.recording, script.recording_seconds, script.wait)


def _heard(root: ET.Element) -> list[str]:
    """What the caller hears of a TwiML document: a ``<Record>`` or ``<Dial>`` with an action
    moves the call on, so Twilio never reaches the ``<Say>`` after it."""
    said: list[str] = []
    for verb in root:
        if verb.tag in ("Record", "Dial") and verb.get("action"):
            break
        said += [s.text or "" for s in verb.iter("Say")]
    return said


def _parse(twiml: str) -> ET.Element:
    try:
        root = ET.fromstring(twiml)  # noqa: S314 - the instance's own answer, no entities
    except ET.ParseError:
        raise ClientError("the server did not answer with TwiML") from None
    if root.tag != "Response":
        raise ClientError("the server did not answer with TwiML")
    return root
