"""Twilio's REST API: send a message, fetch and delete media and recordings, delete a message.

Sends and deletions go through twilio's own async client, pointed at
``HOTLINE_TWILIO_API_BASE`` (``client.api.base_url``; edge and region unset so
the SDK cannot rewrite the host). Its timeout is ignored by async requests
(TWILIO.md §5), so every call runs under a deadline (``asyncio.timeout``, which
unlike 3.11's ``wait_for`` never swallows a cancellation at shutdown). Media is
downloaded with a plain aiohttp session: Basic auth, redirects followed (aiohttp
drops the credentials when a redirect leaves the origin), size-bounded.

Credentials only ever go to the configured API base: a media URL from a
webhook is reduced to its Twilio path and re-rooted there, and one that is not
a media URL of our own account is refused before any request.

Errors become ``TwilioFailure``, which carries an error kind, HTTP status and
Twilio error code only. Twilio's own error messages can quote the number
("The 'To' number +1… is not valid"), so they are dropped, never logged.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Final, TypeVar
from urllib.parse import urlsplit

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

T = TypeVar("T")

TWILIO_API: Final = "https://api.twilio.com"
_MEDIA_PATH: Final = re.compile(
    r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages/([A-Z]{2}[0-9a-fA-F]{32})"
    r"/Media/(ME[0-9a-fA-F]{32})$"
)
_CHUNK: Final = 65536

# Twilio error codes worth saying in words (content-free) and that no retry fixes.
KNOWN_CODES: Final = {
    20003: "Twilio refused our credentials",
    20404: "not found at Twilio",
    21211: "the number is not valid",
    21408: "sending to this region is not enabled",
    21610: "the reporter has opted out (they replied STOP)",
    21612: "this route cannot carry the message",
    21614: "the number cannot receive text messages",
    63016: "outside WhatsApp's 24-hour reply window",
}


def _quiet_logger() -> logging.Logger:
    """The SDK logs request URLs (with SIDs) at INFO: give it a logger that says nothing."""
    log = logging.getLogger("hotline.twilio.sdk")
    log.propagate = False
    log.disabled = True
    return log


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class _HeaderAuthHttpClient(AsyncTwilioHttpClient):
    """Basic auth as a header: aiohttp 3.14 deprecates ``auth=`` (gone in aiohttp 4)."""

    async def request(self, method: str, url: str, params: dict[str, object] | None = None,
                      data: dict[str, object] | None = None,
                      headers: dict[str, str] | None = None,
                      auth: tuple[str, str] | None = None,
                      timeout: float | None = None,  # noqa: ASYNC109 - twilio's signature, passed on
                      allow_redirects: bool = False) -> Response:
        if auth is not None:
            headers = {**(headers or {}), "Authorization": basic_auth(*auth)}
        return await super().request(method, url, params=params, data=data, headers=headers,
                                     auth=None, timeout=timeout, allow_redirects=allow_redirects)


class TwilioFailure(Exception):
    """A Twilio call that did not succeed; ``summary`` is safe to store and show."""

    def __init__(self, kind: str, *, status: int | None = None, code: int | None = None,
                 permanent: bool = False) -> None:
        self.kind, self.status, self.code, self.permanent = kind, status, code, permanent
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        if self.code is not None:
            words = KNOWN_CODES.get(self.code)
            return f"Twilio error {self.code}" + (f": {words}" if words else "")
        if self.status is not None:
            return f"{self.kind} (HTTP {self.status})"
        return self.kind


def _is_permanent(status: int, code: int | None) -> bool:
    if code in KNOWN_CODES:
        return True
    return 400 <= status < 500 and status not in (408, 409, 429)


@dataclass(frozen=True)
class MediaLocation:
    account_sid: str
    message_sid: str
    media_sid: str

    @property
    def path(self) -> str:
        return (f"/2010-04-01/Accounts/{self.account_sid}/Messages/{self.message_sid}"
                f"/Media/{self.media_sid}")


def recording_path(account_sid: str, recording_sid: str) -> str:
    return f"/2010-04-01/Accounts/{account_sid}/Recordings/{recording_sid}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def media_location(url: str, *, api_base: str, account_sid: str) -> MediaLocation | None:
    """Where a webhook's ``MediaUrl`` points, if it is a media item of our account."""
    parts = urlsplit(url)
    if _origin(url) not in (TWILIO_API, _origin(api_base)) or parts.query or parts.fragment:
        return None
    m = _MEDIA_PATH.match(parts.path)
    if m is None or m.group(1) != account_sid:
        return None
    return MediaLocation(m.group(1), m.group(2), m.group(3))


class TwilioRest:
    """One instance per running service; open inside the event loop, close on shutdown."""

    def __init__(self, *, account_sid: str, auth_token: str, api_base: str, timeout: float,
                 max_media_size: int) -> None:
        self.account_sid = account_sid
        self._token = auth_token
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self.max_media_size = max_media_size
        self._http: _HeaderAuthHttpClient | None = None
        self._client: Client | None = None
        self._media: aiohttp.ClientSession | None = None
        self._basic_auth = basic_auth(account_sid, auth_token)

    async def open(self) -> None:
        self._http = _HeaderAuthHttpClient(logger=_quiet_logger())
        # A non-empty environment: an empty dict is falsy and the SDK would read os.environ.
        self._client = Client(self.account_sid, self._token, http_client=self._http,
                              environment={"HOTLINE": "1"})
        self._client.edge = None
        self._client.region = None
        self._client.api.base_url = self.api_base
        self._media = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        )  # no session-wide auth: aiohttp would re-apply it after a cross-origin redirect

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._media is not None:
            await self._media.close()

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("TwilioRest is not open")
        return self._client

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self.timeout):  # not wait_for: 3.11's can swallow a cancel
                return await call
        except TwilioRestException as e:
            code = e.code if isinstance(e.code, int) else None
            kind = "Twilio had an error" if e.status >= 500 else "Twilio refused the request"
            raise TwilioFailure(kind, status=e.status, code=code,
                                permanent=_is_permanent(e.status, code)) from None
        except TimeoutError:
            raise TwilioFailure("no answer from Twilio in time") from None
        except (aiohttp.ClientError, OSError):
            raise TwilioFailure("cannot reach Twilio") from None
        except TwilioException:
            raise TwilioFailure("unexpected answer from Twilio") from None

    async def send_message(self, *, to: str, from_: str, body: str,
                           status_callback: str | None = None) -> str:
        """Send; return Twilio's MessageSid."""
        message = await self._call(self.client.messages.create_async(
            to=to, from_=from_, body=body, status_callback=status_callback))
        return str(message.sid)

    async def delete_media(self, where: MediaLocation) -> None:
        """Delete a media item; one that is already gone counts as deleted."""
        try:
            await self._call(self.client.messages(where.message_sid).media(where.media_sid)
                             .delete_async())
        except TwilioFailure as e:
            if e.status != 404:
                raise

    async def delete_message(self, message_sid: str) -> None:
        try:
            await self._call(self.client.messages(message_sid).delete_async())
        except TwilioFailure as e:
            if e.status != 404:
                raise

    async def fetch_media(self, where: MediaLocation) -> bytes:
        """Download a media item (Basic auth, redirects followed), bounded in size."""
        return await self._call(self._download(
            self._session(), self.api_base + where.path, limit=self.max_media_size,
            too_large="media is larger than sms.max_media_size", what="media download failed"))

    async def fetch_recording(self, recording_sid: str, *, fmt: str, limit: int) -> bytes:
        """Download a recording of our account as ``.wav`` or ``.mp3``.

        Built from the SID, never from a webhook's ``RecordingUrl``, so the
        credentials only go to the configured API base. A 404 is not final:
        Twilio may call the ``<Record>`` action before the file is ready.
        """
        url = f"{self.api_base}{recording_path(self.account_sid, recording_sid)}.{fmt}"
        return await self._call(self._download(
            self._session(), url, limit=limit, not_found_is_final=False,
            too_large="the recording is larger than voice.max_recording_length allows",
            what="recording download failed"))

    async def delete_recording(self, recording_sid: str) -> None:
        """Delete a recording at Twilio; one that is already gone counts as deleted."""
        try:
            await self._call(self.client.recordings(recording_sid).delete_async())
        except TwilioFailure as e:
            if e.status != 404:
                raise

    def _session(self) -> aiohttp.ClientSession:
        if self._media is None:
            raise RuntimeError("TwilioRest is not open")
        return self._media

    async def _download(self, session: aiohttp.ClientSession, url: str, *, limit: int,
                        too_large: str, what: str, not_found_is_final: bool = True) -> bytes:
        # A header, not ``auth=``: aiohttp drops it when a redirect leaves the origin.
        async with session.get(url, headers={"Authorization": self._basic_auth},
                               allow_redirects=True, max_redirects=5) as r:
            if r.status != 200:
                permanent = (r.status == 404 and not_found_is_final) or (
                    r.status != 404 and _is_permanent(r.status, None))
                raise TwilioFailure(what, status=r.status, permanent=permanent)
            if (r.content_length or 0) > limit:
                raise TwilioFailure(too_large, permanent=True)
            data = bytearray()
            async for chunk in r.content.iter_chunked(_CHUNK):
                data += chunk
                if len(data) > limit:
                    raise TwilioFailure(too_large, permanent=True)
            return bytes(data)
