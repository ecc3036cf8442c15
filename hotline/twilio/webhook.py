"""Twilio webhooks in: the signature check and the incoming-message form.

The signature is Twilio's scheme (``RequestValidator``'s, TWILIO.md §1): a
base64 HMAC-SHA1 under the auth token of the URL Twilio called, rebuilt from
``HOTLINE_PUBLIC_URL`` plus the raw path and query string we received (behind
a proxy, the host we see is not the one Twilio signed), followed by every
parameter name and each of its distinct values, sorted. Like
``RequestValidator.validate`` it accepts the URL with and without the default
port, as Twilio signs inconsistently; unlike it, the sorted parameters are
joined once (not once per URL form), the keyed HMAC state is made once per
token and copied, the URL forms are parsed once per URL, the second form is
only hashed when the first does not match, and the compare is
``hmac.compare_digest`` on bytes (its own compare is a Python loop over
characters). A test holds it equal to ``RequestValidator`` on generated input.
Every error text here is content-free: it names a field, never its value.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl, urlparse

from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from twilio.request_validator import add_port, remove_port

from ..errors import BadRequest, Forbidden, PayloadTooLarge, UnsupportedMediaType
from ..logging import get_logger
from ..media_type import media_type
from ..ops.metrics import Metrics

SIGNATURE_HEADER: Final = "X-Twilio-Signature"
MAX_FIELDS: Final = 200
_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")  # fullmatch: "$" would allow a final "\n"
_WHATSAPP = "whatsapp:"
_LOCATION_FIELDS: Final = ("FromCity", "FromState", "FromZip", "FromCountry")


def webhook_url(public_url: str, raw_path_qs: str) -> str:
    """The URL Twilio signed: the public URL (with any path prefix) + path + query."""
    return public_url.rstrip("/") + raw_path_qs


def parse_form(body: bytes) -> MultiDictProxy[str]:
    """A form-encoded body as Twilio sent it: blank values kept (they are signed)."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise BadRequest("the form is not valid UTF-8") from None
    except ValueError:
        raise BadRequest("the form has too many fields") from None
    return MultiDictProxy(MultiDict(pairs))


@functools.lru_cache(maxsize=4)
def _keyed(auth_token: str) -> hmac.HMAC:
    """The HMAC state keyed with the token, copied per request (the key is hashed once)."""
    return hmac.new(auth_token.encode("utf-8"), digestmod=hashlib.sha1)


@functools.lru_cache(maxsize=64)  # bounded: the query string is the caller's to choose
def _url_forms(url: str) -> tuple[bytes, ...]:
    """The URL as Twilio may have signed it: without the port, then with the default one."""
    parsed = urlparse(url)
    forms = dict.fromkeys((remove_port(parsed), add_port(parsed)))  # one if they are the same
    return tuple(u.encode("utf-8", "surrogatepass") for u in forms)


def signed_params(params: MultiDictProxy[str]) -> bytes:
    """Every name, then each of its distinct values, names and values sorted (Twilio's order:
    the distinct (name, value) pairs, sorted, are exactly that, in one sort)."""
    return "".join([name + value for name, value in sorted(set(params.items()))]).encode(
        "utf-8", "surrogatepass")


def signature_is_valid(auth_token: str, url: str, params: MultiDictProxy[str],
                       signature: str | None) -> bool:
    if not signature:
        return False
    given = signature.encode("utf-8", "surrogatepass")
    tail = signed_params(params)
    for form in _url_forms(url):
        mac = _keyed(auth_token).copy()
        mac.update(form)
        mac.update(tail)
        if hmac.compare_digest(base64.b64encode(mac.digest()), given):
            return True
    return False


def is_sid(value: str, prefix: str | None = None) -> bool:
    return bool(_SID.fullmatch(value)) and (prefix is None or value.startswith(prefix))


@dataclass(frozen=True)
class MediaRef:
    index: int
    url: str = field(repr=False)
    content_type: str


@dataclass(frozen=True)
class IncomingMessage:
    """One incoming SMS/MMS/WhatsApp message; ``repr`` shows no content or number."""

    message_sid: str = field(repr=False)
    account_sid: str = field(repr=False)
    sender: str = field(repr=False)  # E.164, or "whatsapp:+…"
    body: str = field(repr=False)
    media: tuple[MediaRef, ...]
    num_media: int  # what Twilio announced; more than ``media`` when over our limit
    whatsapp: bool
    location: Mapping[str, str] = field(repr=False)
    profile_name: str | None = field(default=None, repr=False)
    opt_out_type: str | None = None
    num_segments: str | None = None


def _one(form: Mapping[str, str], name: str, *, required: bool = True, limit: int = 100) -> str:
    value = form.get(name)
    if value is None:
        if required:
            raise BadRequest(f"the webhook has no {name}")
        return ""
    if len(value) > limit:
        raise BadRequest(f"the webhook's {name} is too long")
    return value


def parse_incoming(form: Mapping[str, str], *, max_media: int) -> IncomingMessage:
    """Read Twilio's incoming-message form strictly; BadRequest names the field."""
    sid = _one(form, "MessageSid")
    if not is_sid(sid):
        raise BadRequest("the webhook's MessageSid is malformed")
    sender = _one(form, "From", limit=80).strip()
    if not sender:
        raise BadRequest("the webhook has no From")
    body = _one(form, "Body", required=False, limit=20_000)
    try:
        num_media = int(_one(form, "NumMedia", required=False) or "0")
    except ValueError:
        raise BadRequest("the webhook's NumMedia is not a number") from None
    if not 0 <= num_media <= 10:
        raise BadRequest("the webhook's NumMedia is out of range")
    media = tuple(
        MediaRef(i, _one(form, f"MediaUrl{i}", limit=1000),
                 _one(form, f"MediaContentType{i}", required=False) or "application/octet-stream")
        for i in range(min(num_media, max_media))
    )
    location = {k: form[k] for k in _LOCATION_FIELDS if form.get(k)}
    return IncomingMessage(
        message_sid=sid, account_sid=_one(form, "AccountSid"), sender=sender, body=body,
        media=media, num_media=num_media, whatsapp=sender.lower().startswith(_WHATSAPP), location=location,
        profile_name=form.get("ProfileName") or None,
        opt_out_type=form.get("OptOutType") or None,
        num_segments=form.get("NumSegments") or None,
    )


def whatsapp_from(number: str, to: str) -> str:
    """The sender for a reply: WhatsApp replies go out from the hotline's WhatsApp sender."""
    if to.lower().startswith(_WHATSAPP) and not number.lower().startswith(_WHATSAPP):
        return _WHATSAPP + number
    return number


# -- the check every Twilio webhook passes first -------------------------------

MAX_WEBHOOK_BYTES: Final = 64 * 1024  # Twilio's forms are a few KB


async def read_bounded(request: web.Request, limit: int = MAX_WEBHOOK_BYTES) -> bytes:
    if (request.content_length or 0) > limit:
        raise PayloadTooLarge()
    body = bytearray()
    while chunk := await request.content.read(16384):
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge()
    return bytes(body)


REFUSALS_LOGGED_PER_MINUTE: Final = 20  # per reason; the metric counts every refusal


class RefusalLog:
    """How many refusal lines may still be written this minute, per reason.

    A flood of forged webhooks costs us a parse and an HMAC each; it should not
    also cost a log line each (at thousands a second, gigabytes a day: a disk
    filled, and real events buried). The first ``limit`` refusals of a reason in
    a minute are logged as before; the rest only counted, in
    ``hotline_webhook_signature_failures_total`` (every one, at once) and in
    one ``twilio.refused_suppressed`` line with the count, written at the first
    refusal of a later minute (a flood that stops leaves its last minute's
    count in the metric only).
    """

    def __init__(self, limit: int = REFUSALS_LOGGED_PER_MINUTE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limit, self._clock = limit, clock
        self._minute: float = -1.0
        self._counts: dict[str, int] = {}

    def admit(self, reason: str) -> tuple[bool, dict[str, int]]:
        """Count a refusal: whether it may be logged, and the previous minute's
        suppressed counts per reason (once, as a new minute starts)."""
        minute = self._clock() // 60
        over: dict[str, int] = {}
        if minute != self._minute:
            over = {r: n - self._limit for r, n in self._counts.items() if n > self._limit}
            self._minute, self._counts = minute, {}
        n = self._counts[reason] = self._counts.get(reason, 0) + 1
        return n <= self._limit, over


_REFUSALS: weakref.WeakKeyDictionary[Metrics, RefusalLog] = weakref.WeakKeyDictionary()


def _refusals(metrics: Metrics) -> RefusalLog:
    """One refusal log per service (its metrics object): not shared across apps."""
    found = _REFUSALS.get(metrics)
    if found is None:
        found = _REFUSALS[metrics] = RefusalLog()
    return found


async def verified_form(request: web.Request, *, public_url: str, auth_token: str,
                        account_sid: str, logger: str, metrics: Metrics) -> MultiDictProxy[str]:
    """The webhook's form, only if Twilio signed it (over the public URL) for our account.

    Refusals are logged as ``twilio.refused`` with the route and a reason word:
    never a field value, so a forged request cannot write into our logs; at most
    ``REFUSALS_LOGGED_PER_MINUTE`` per reason (``RefusalLog``), so a flood of them
    cannot fill the disk with lines either.
    """

    def refuse(reason: str, message: str) -> Forbidden:
        log = get_logger(logger)
        may_log, suppressed = _refusals(metrics).admit(reason)
        for why, count in suppressed.items():
            log.warning("twilio.refused_suppressed", reason=why, count=count)
        if may_log:
            log.warning("twilio.refused", route=request.path, reason=reason)
        route = request.match_info.route.resource  # a route, never the (forged) path a request made up
        endpoint = route.canonical if route is not None else "unmatched"
        metrics.webhook_signature_failures.labels(endpoint).inc()
        return Forbidden(message)

    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        raise refuse("missing_signature", "the request is not signed by Twilio")
    if media_type(request) != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("send application/x-www-form-urlencoded")
    form = parse_form(await read_bounded(request))
    if not signature_is_valid(auth_token, webhook_url(public_url, request.raw_path), form, signature):
        raise refuse("bad_signature", "the Twilio signature is not valid")
    if form.get("AccountSid") != account_sid:
        raise refuse("wrong_account", "the request is for another Twilio account")
    return form
