"""A local stand-in for Twilio: its REST API, and Twilio's side of a webhook.

One stand-in for the test suite and for ``hotline demo`` (which starts it
beside the instance, so a newcomer tries SMS, WhatsApp, calls and paging with
no Twilio account): the same wire format in both, so the demo shows what the
tests check.

The REST side is a real aiohttp server on 127.0.0.1 speaking Twilio's wire
format (TWILIO.md §4): form-encoded POSTs, JSON answers, 201 on create, 204 on
delete, Basic auth (account SID, token) with Twilio's 401 JSON otherwise,
``{code, message, more_info, status}`` errors, media that redirects to a
storage URL, DELETE that really removes. Every request is recorded, so tests
assert exactly what our service sent. Failures are scripted per call.

The webhook side (``signed_post``/``incoming_sms_form``) builds the form Twilio
posts for an incoming message, with every field Twilio sends (blank location
fields included: they count in the signature) and signs it with twilio's own
``RequestValidator``.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import aiohttp
from aiohttp import web
from multidict import MultiDict
from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
TWILIO_API = "https://api.twilio.com"


def sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: MultiDict[str]
    auth: tuple[str, str] | None


@dataclass
class Failure:
    status: int
    code: int | None = None
    delay: float = 0.0


@dataclass
class _Media:
    data: bytes
    content_type: str
    deleted: bool = False


@dataclass
class _Recording:
    wav: bytes
    mp3: bytes
    ready: bool = True
    deleted: bool = False


@dataclass
class FakeTwilio:
    account_sid: str = field(default_factory=lambda: sid("AC"))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    requests: list[Recorded] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    deleted_messages: list[str] = field(default_factory=list)
    _media: dict[tuple[str, str], _Media] = field(default_factory=dict)
    _storage: dict[str, tuple[str, str]] = field(default_factory=dict)
    _send_failures: list[Failure] = field(default_factory=list)
    placed_calls: list[dict[str, Any]] = field(default_factory=list)  # outbound calls (pages)
    _call_failures: list[Failure] = field(default_factory=list)
    _media_failures: dict[str, list[Failure]] = field(default_factory=dict)
    observers: list[Callable[[Recorded], None]] = field(default_factory=list)  # see each request
    _recordings: dict[str, _Recording] = field(default_factory=dict)
    _recording_failures: dict[str, list[Failure]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    base_url: str = ""

    # -- lifecycle -------------------------------------------------------------

    async def start(self, port: int | None = None) -> FakeTwilio:
        app = web.Application()
        acc = f"/{API_VERSION}/Accounts/{{account}}"
        app.router.add_post(acc + "/Messages.json", self._create_message)
        app.router.add_delete(acc + "/Messages/{message}.json", self._delete_message)
        app.router.add_post(acc + "/Calls.json", self._create_call)
        app.router.add_get(acc + "/Messages/{message}/Media/{media}", self._get_media)
        app.router.add_delete(acc + "/Messages/{message}/Media/{media}.json", self._delete_media)
        app.router.add_get(acc + "/Recordings/{recording}.{ext}", self._get_recording)
        app.router.add_get(acc + "/Recordings/{recording}", self._get_recording)
        app.router.add_delete(acc + "/Recordings/{recording}.json", self._delete_recording)
        app.router.add_get("/storage/{token}", self._storage_get)
        # Not Twilio's: how ``hotline simulate voice`` leaves a voicemail on a running stand-in.
        app.router.add_get("/standin", self._standin_hello)
        app.router.add_post("/standin/recordings", self._standin_add_recording)
        app.router.add_get("/standin/recordings/{recording}", self._standin_recording_state)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        app.middlewares.append(self._record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = port or _free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- scripting -------------------------------------------------------------

    def add_media(self, message_sid: str, data: bytes, content_type: str) -> str:
        """Store a media item; return its URL as Twilio puts it in a webhook."""
        media_sid = sid("ME")
        self._media[(message_sid, media_sid)] = _Media(data, content_type)
        account = f"{TWILIO_API}/{API_VERSION}/Accounts/{self.account_sid}"
        return f"{account}/Messages/{message_sid}/Media/{media_sid}"

    def fail_media(self, media_url: str, *failures: Failure) -> None:
        self._media_failures.setdefault(media_url.rsplit("/", 1)[1], []).extend(failures)

    def add_recording(self, wav: bytes, *, mp3: bytes = b"", ready: bool = True) -> tuple[str, str]:
        """Store a recording; return its SID and its URL as Twilio puts it in a callback."""
        recording_sid = sid("RE")
        self._recordings[recording_sid] = _Recording(wav, mp3 or b"ID3" + wav[:64], ready)
        url = f"{TWILIO_API}/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{recording_sid}"
        return recording_sid, url

    def recording_ready(self, recording_sid: str) -> None:
        """Twilio finished writing the file: until now a GET answers 404."""
        self._recordings[recording_sid].ready = True

    def fail_recording(self, recording_sid: str, *failures: Failure) -> None:
        self._recording_failures.setdefault(recording_sid, []).extend(failures)

    def heal_recording(self, recording_sid: str) -> None:
        """Drop the failures still scripted for a recording."""
        self._recording_failures.pop(recording_sid, None)

    def recording_exists(self, recording_sid: str) -> bool:
        rec = self._recordings.get(recording_sid)
        return rec is not None and not rec.deleted

    def fail_sends(self, *failures: Failure) -> None:
        self._send_failures.extend(failures)

    def fail_calls(self, *failures: Failure) -> None:
        self._call_failures.extend(failures)

    def media_exists(self, media_url: str) -> bool:
        media_sid = media_url.rsplit("/", 1)[1]
        return any(k[1] == media_sid and not m.deleted for k, m in self._media.items())

    def calls(self, method: str, contains: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and contains in r.path]

    # -- wire format -------------------------------------------------------------

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return web.json_response({"code": code, "message": message,
                                  "more_info": f"https://www.twilio.com/docs/errors/{code}",
                                  "status": status}, status=status)

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return (user, password) == (self.account_sid, self.auth_token) and \
            request.match_info.get("account") == self.account_sid

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        form: MultiDict[str] = MultiDict()
        if request.content_type == "application/x-www-form-urlencoded":
            form = MultiDict(await request.post())  # type: ignore[arg-type]
        auth = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            auth = (user, password)
        recorded = Recorded(request.method, request.path, dict(request.query),
                            dict(request.headers), form, auth)
        self.requests.append(recorded)
        for observe in self.observers:
            observe(recorded)
        if request.path.startswith(f"/{API_VERSION}/") and not self._authorised(request):
            return self._error(401, 20003, "Authenticate")
        return await handler(request)

    async def _scripted_failure(self, failures: list[Failure], to: str) -> web.Response | None:
        """The next scripted failure as Twilio words it (5xx: an internal error; 4xx: a bad number)."""
        if not failures:
            return None
        f = failures.pop(0)
        await asyncio.sleep(f.delay)
        if f.status >= 500:
            return web.json_response({"code": f.code, "message": "Internal error",
                                      "status": f.status}, status=f.status)
        return self._error(f.status, f.code or 21211, f"The 'To' number {to} is not valid.")

    async def _create_message(self, request: web.Request) -> web.Response:
        form = await request.post()
        if "To" not in form:
            return self._error(400, 21604, "A 'To' phone number is required.")
        failed = await self._scripted_failure(self._send_failures, str(form["To"]))
        if failed is not None:
            return failed
        now = format_datetime(datetime.now(UTC), usegmt=True)
        message_sid = sid("SM")
        resource = {
            "account_sid": self.account_sid, "api_version": API_VERSION, "body": form.get("Body"),
            "date_created": now, "date_updated": now, "date_sent": None,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": form.get("From"), "messaging_service_sid": None, "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": "USD", "sid": message_sid,
            "status": "queued", "to": form["To"],
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message_sid}.json",
            "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/"
                                          f"{message_sid}/Media.json"},
        }
        self.sent.append({"sid": message_sid, "To": form["To"], "From": form.get("From"),
                          "Body": form.get("Body"), "StatusCallback": form.get("StatusCallback")})
        return web.json_response(resource, status=201)

    async def _create_call(self, request: web.Request) -> web.Response:
        """``Calls.create``: Twilio answers 201 with a queued call resource."""
        form = await request.post()
        if "To" not in form or "From" not in form:
            return self._error(400, 21201, "No 'To' or 'From' number is specified")
        if not any(k in form for k in ("Url", "Twiml", "ApplicationSid")):
            return self._error(400, 21205, "Url parameter is required.")
        failed = await self._scripted_failure(self._call_failures, str(form["To"]))
        if failed is not None:
            return failed
        now = format_datetime(datetime.now(UTC), usegmt=True)
        call_sid = sid("CA")
        resource = {
            "account_sid": self.account_sid, "api_version": API_VERSION, "sid": call_sid,
            "date_created": now, "date_updated": now, "direction": "outbound-api",
            "from": form["From"], "to": form["To"], "status": "queued", "price": None,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{call_sid}.json",
        }
        self.placed_calls.append({"sid": call_sid, **{k: form[k] for k in form}})
        return web.json_response(resource, status=201)

    async def _delete_message(self, request: web.Request) -> web.Response:
        self.deleted_messages.append(request.match_info["message"])
        return web.Response(status=204)

    async def _get_media(self, request: web.Request) -> web.Response:
        key = (request.match_info["message"], request.match_info["media"])
        failures = self._media_failures.get(key[1])
        if failures:
            f = failures.pop(0)
            await asyncio.sleep(f.delay)
            return self._error(f.status, f.code or 20500, "Internal Server Error")
        media = self._media.get(key)
        if media is None or media.deleted:
            return self._error(404, 20404, "The requested resource was not found")
        token = secrets.token_urlsafe(16)
        self._storage[token] = key
        raise web.HTTPTemporaryRedirect(f"/storage/{token}")

    async def _storage_get(self, request: web.Request) -> web.Response:
        key = self._storage.get(request.match_info["token"])
        media = self._media.get(key) if key else None
        if media is None or media.deleted:
            return web.Response(status=404)
        return web.Response(body=media.data, content_type=media.content_type)

    async def _delete_media(self, request: web.Request) -> web.Response:
        media = self._media.get((request.match_info["message"], request.match_info["media"]))
        if media is None or media.deleted:
            return self._error(404, 20404, "The requested resource was not found")
        media.deleted = True
        return web.Response(status=204)

    async def _get_recording(self, request: web.Request) -> web.Response:
        """``GET …/Recordings/RE…[.wav|.mp3]``: WAV without an extension, like Twilio."""
        recording_sid = request.match_info["recording"]
        ext = request.match_info.get("ext", "wav")
        failures = self._recording_failures.get(recording_sid)
        if failures:
            f = failures.pop(0)
            await asyncio.sleep(f.delay)
            return self._error(f.status, f.code or 20500, "Internal Server Error")
        rec = self._recordings.get(recording_sid)
        if rec is None or rec.deleted or not rec.ready or ext not in ("wav", "mp3"):
            return self._error(404, 20404, "The requested resource was not found")
        if ext == "mp3":
            return web.Response(body=rec.mp3, content_type="audio/mpeg")
        return web.Response(body=rec.wav, content_type="audio/x-wav")

    async def _delete_recording(self, request: web.Request) -> web.Response:
        rec = self._recordings.get(request.match_info["recording"])
        if rec is None or rec.deleted:
            return self._error(404, 20404, "The requested resource was not found")
        rec.deleted = True
        return web.Response(status=204)

    async def _standin_hello(self, request: web.Request) -> web.Response:
        return web.json_response({"standin": "twilio", "account_sid": self.account_sid})

    async def _standin_add_recording(self, request: web.Request) -> web.Response:
        """A voicemail for the next call, as Twilio would hold it; answers its SID and URL."""
        recording_sid, url = self.add_recording(await request.read())
        return web.json_response({"sid": recording_sid, "url": url}, status=201)

    async def _standin_recording_state(self, request: web.Request) -> web.Response:
        rec = self._recordings.get(request.match_info["recording"])
        if rec is None:
            return self._error(404, 20404, "The requested resource was not found")
        fetched = any(r.method == "GET" and request.match_info["recording"] in r.path
                      and r.path.startswith(f"/{API_VERSION}/") for r in self.requests)
        return web.json_response({"fetched": fetched, "deleted": rec.deleted})

    async def _not_found(self, request: web.Request) -> web.Response:
        return self._error(404, 20404, "The requested resource was not found")


# -- Twilio's side of the webhook ------------------------------------------------

def incoming_sms_form(*, account_sid: str, sender: str, body: str, to: str = "+15005550006",
                      message_sid: str | None = None,
                      media: list[tuple[str, str]] = (),  # type: ignore[assignment]
                      extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The form Twilio posts for an incoming SMS/MMS/WhatsApp message."""
    message_sid = message_sid or sid("MM" if media else "SM")
    form = {
        "ToCountry": "US", "ToState": "CA", "SmsMessageSid": message_sid, "NumMedia": str(len(media)),
        "ToCity": "", "FromZip": "94105", "SmsSid": message_sid, "FromState": "CA",
        "SmsStatus": "received", "FromCity": "SAN FRANCISCO", "Body": body, "FromCountry": "US",
        "To": to, "ToZip": "", "NumSegments": str(max(1, -(-len(body) // 153))),
        "MessageSid": message_sid, "AccountSid": account_sid, "From": sender,
        "ApiVersion": API_VERSION,
    }
    for i, (url, ctype) in enumerate(media):
        form[f"MediaUrl{i}"] = url
        form[f"MediaContentType{i}"] = ctype
    form.update(extra or {})
    return form


def sign(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    return str(RequestValidator(auth_token).compute_signature(url, dict(form)))


async def signed_post(session: aiohttp.ClientSession, *, server: str, path: str,
                      public_url: str, auth_token: str, form: Mapping[str, str],
                      signature: str | None = None) -> tuple[int, str]:
    """POST like Twilio: form-encoded, signed over the public URL + path (+ query)."""
    headers = {"User-Agent": "TwilioProxy/1.1",
               "I-Twilio-Idempotency-Token": secrets.token_hex(16)}
    sig = signature if signature is not None else sign(auth_token, public_url + path, form)
    if sig:
        headers["X-Twilio-Signature"] = sig
    async with session.post(server + path, data=dict(form), headers=headers) as r:
        return r.status, await r.text()
