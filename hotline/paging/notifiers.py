"""How a page reaches a person: Twilio SMS, Twilio call, signed webhook, e-mail, console.

Every notifier gets a :class:`PageNotice`, whose fields are all closed types
(a validated tip reference, channel, urgency, time, level, a numeric code), and
renders it with the fixed texts below: there is no path by which report
content, a reporter's number or a matched rule could reach a page.

A notifier either returns (the page was accepted) or raises
:class:`DeliveryFailed`, which says whether retrying the same notifier can
help. Failure reasons are content-free and safe to store and log.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

import aiohttp
import aiosmtplib

from ..logging import get_logger
from ..twilio.rest import TwilioFailure, TwilioRest
from .escalation import Page

SIGNATURE_HEADER = "X-Hotline-Signature"
TIMESTAMP_HEADER = "X-Hotline-Timestamp"
PAGE_CALL_PATH = "/twilio/page/{outbox_id}/call"
PAGE_ACK_PATH = "/twilio/page/{outbox_id}/ack"
DELETION_PAGE_PREFIX = "deletion-"
"""Escalations opened for a reporter's deletion request (``hotline.deletion``) have ids
starting with this, and so do their pages' idempotency keys: the notice says what it is for."""
SUMMARY_CALL_PATH = "/twilio/page/summary/{summary_id}/call"
SUMMARY_ACK_PATH = "/twilio/page/summary/{summary_id}/ack"
SUMMARY_REFS = 5  # references a summary lists by name; the rest are counted


@dataclass(frozen=True)
class PageNotice:
    page: Page
    code: str  # digits an advocate texts back to acknowledge
    outbox_id: int
    key: str  # the idempotency key of this step for this person

    @property
    def ref(self) -> str:
        return self.page.tip_ref.value

    @property
    def opened(self) -> str:
        return self.page.opened_at.strftime("%H:%M UTC")

    @property
    def deletion_requested(self) -> bool:
        """A page about a reporter's deletion request rather than a new report."""
        return self.key.startswith(DELETION_PAGE_PREFIX)


@dataclass(frozen=True)
class SummaryNotice:
    """Several held pages to one person as one notification (hotline.paging.coalesce).

    Like :class:`PageNotice`, only closed types: each tip's page (reference,
    channel, urgency, time, level), the summary's own code (which acknowledges
    every tip in it), its id and idempotency key.
    """

    pages: tuple[Page, ...]  # most urgent first, then oldest
    code: str
    summary_id: int
    key: str

    def __post_init__(self) -> None:
        if not self.pages or not all(isinstance(p, Page) for p in self.pages):
            raise TypeError("SummaryNotice.pages must be one or more Page values")

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(p.tip_ref.value for p in self.pages)

    def counts(self) -> str:
        """"3 critical, 9 high": each urgency present, most urgent first."""
        tally: dict[str, int] = {}
        for p in sorted(self.pages, key=lambda p: -p.urgency.rank):
            tally[p.urgency.value] = tally.get(p.urgency.value, 0) + 1
        return ", ".join(f"{n} {u}" for u, n in tally.items())

    def listed(self) -> str:
        shown = ", ".join(self.refs[:SUMMARY_REFS])
        rest = len(self.pages) - SUMMARY_REFS
        return f"{shown} and {rest} more" if rest > 0 else shown


Notice = PageNotice | SummaryNotice


class DeliveryFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        self.reason, self.permanent = reason, permanent
        super().__init__(reason)


class Notifier(Protocol):
    kind: str

    async def send(self, notice: Notice, target: str | None) -> str:
        """Deliver; return a reference (e.g. Twilio's SID) or raise DeliveryFailed."""
        ...


def sms_text(n: Notice) -> str:
    """Short, neutral, and useless to anyone who reads the advocate's lock screen."""
    if isinstance(n, SummaryNotice):
        return (f"Hotline: {len(n.pages)} more pages ({n.counts()}): {n.listed()}. "
                f"Reply {n.code} to acknowledge all {len(n.pages)}.")
    if n.deletion_requested:
        return (f"Hotline: deletion requested for tip {n.ref} at {n.opened}. Hold it or reach "
                f"out from the console. Reply {n.code} to acknowledge.")
    return (f"Hotline page: tip {n.ref} ({n.page.urgency.value}, {n.page.channel.value}) "
            f"opened {n.opened}. Reply {n.code} to acknowledge.")


def spoken_text(n: Notice) -> str:
    if isinstance(n, SummaryNotice):
        return (f"This is a Hotline page. {len(n.pages)} more tips are waiting: {n.counts()}. "
                f"Press 1 to acknowledge all {len(n.pages)}.")
    letters = " ".join(c for c in n.ref if c != "-")
    if n.deletion_requested:
        return (f"This is a Hotline page. Deletion requested for tip {letters}. Hold it or reach "
                "out from the console. Press 1 to acknowledge.")
    return (f"This is a Hotline page. Tip {letters}. Urgency {n.page.urgency.value}, "
            f"received by {n.page.channel.value}. Press 1 to acknowledge.")


def webhook_body(n: Notice) -> bytes:
    if isinstance(n, SummaryNotice):
        summary = {"type": "hotline.page_summary", "count": len(n.pages), "ack_code": n.code,
                   "idempotency_key": n.key, "text": sms_text(n),
                   "tips": [{"tip_ref": p.tip_ref.value, "channel": p.channel.value,
                             "urgency": p.urgency.value, "opened_at": p.opened_at.isoformat(),
                             "level": p.level} for p in n.pages]}
        return json.dumps(summary, separators=(",", ":"), sort_keys=True).encode()
    doc = {"type": "hotline.page", "tip_ref": n.ref, "channel": n.page.channel.value,
           "urgency": n.page.urgency.value, "opened_at": n.page.opened_at.isoformat(),
           "level": n.page.level, "ack_code": n.code, "idempotency_key": n.key,
           "text": sms_text(n)}
    if n.deletion_requested:
        doc["purpose"] = "deletion_requested"
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, timestamp + "." + body), Stripe/Slack style:
    the timestamp in the MAC stops a captured page being replayed later."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _twilio_failure(e: TwilioFailure) -> DeliveryFailed:
    return DeliveryFailed(e.summary, permanent=e.permanent)


class TwilioSms:
    kind = "sms"

    def __init__(self, rest: TwilioRest | None, number: str) -> None:
        self._rest, self._number = rest, number

    async def send(self, notice: Notice, target: str | None) -> str:
        if self._rest is None or not self._number:
            raise DeliveryFailed("Twilio is not configured", permanent=True)
        if not target:
            raise DeliveryFailed("no phone number for this advocate", permanent=True)
        try:
            return await self._rest.send_message(to=target, from_=self._number, body=sms_text(notice))
        except TwilioFailure as e:
            raise _twilio_failure(e) from None


class TwilioCall:
    """A call whose TwiML (served by ``paging.routes``) speaks the page and gathers "1"."""

    kind = "call"

    def __init__(self, rest: TwilioRest | None, number: str, public_url: str) -> None:
        self._rest, self._number, self._public_url = rest, number, public_url

    async def send(self, notice: Notice, target: str | None) -> str:
        if self._rest is None or not self._number:
            raise DeliveryFailed("Twilio is not configured", permanent=True)
        if not target:
            raise DeliveryFailed("no phone number for this advocate", permanent=True)
        path = (SUMMARY_CALL_PATH.format(summary_id=notice.summary_id)
                if isinstance(notice, SummaryNotice)
                else PAGE_CALL_PATH.format(outbox_id=notice.outbox_id))
        url = self._public_url + path
        rest = self._rest
        try:
            # TwilioRest._call: the same deadline and content-free error mapping as SMS.
            call = await rest._call(rest.client.calls.create_async(
                to=target, from_=self._number, url=url, method="POST", timeout=30))
        except TwilioFailure as e:
            raise _twilio_failure(e) from None
        return str(call.sid)


class Webhook:
    kind = "webhook"

    def __init__(self, session_factory: SessionFactory, secret: str, timeout: float) -> None:
        self._session, self._secret, self._timeout = session_factory, secret, timeout

    async def send(self, notice: Notice, target: str | None) -> str:
        if not target:
            raise DeliveryFailed("no webhook URL for this advocate", permanent=True)
        if not self._secret:
            raise DeliveryFailed("paging.webhook_secret is not set", permanent=True)
        body = webhook_body(notice)
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                   SIGNATURE_HEADER: sign_webhook(self._secret, stamp, body),
                   "Idempotency-Key": notice.key, "User-Agent": "Hotline-Pager"}
        try:
            async with asyncio.timeout(self._timeout), \
                    self._session().post(target, data=body, headers=headers,
                                         allow_redirects=False) as r:
                if 200 <= r.status < 300:
                    return f"HTTP {r.status}"
                permanent = 400 <= r.status < 500 and r.status not in (408, 409, 425, 429)
                raise DeliveryFailed(f"webhook answered HTTP {r.status}", permanent=permanent)
        except TimeoutError:
            raise DeliveryFailed("webhook did not answer in time") from None
        except (aiohttp.ClientError, OSError):
            raise DeliveryFailed("cannot reach the webhook") from None


class SessionFactory(Protocol):
    def __call__(self) -> aiohttp.ClientSession: ...


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    user: str
    password: str
    sender: str
    timeout: float


class Email:
    kind = "email"

    def __init__(self, smtp: SmtpSettings) -> None:
        self._smtp = smtp

    async def send(self, notice: Notice, target: str | None) -> str:
        s = self._smtp
        if not s.host:
            raise DeliveryFailed("paging.smtp_host is not set", permanent=True)
        if not target:
            raise DeliveryFailed("no e-mail address for this advocate", permanent=True)
        msg = EmailMessage()
        msg["From"], msg["To"] = s.sender, target
        msg["Subject"] = (f"Hotline: {len(notice.pages)} pages ({notice.counts()})"
                          if isinstance(notice, SummaryNotice)
                          else f"Hotline: deletion requested for tip {notice.ref}"
                          if notice.deletion_requested
                          else f"Hotline page {notice.ref} ({notice.page.urgency.value})")
        how = ("hotline ack " + " / ".join(notice.refs) if isinstance(notice, SummaryNotice)
               else "hotline ack " + notice.ref)
        # The same step for the same person always has the same Message-ID: a resend
        # after a crash is one message to mail clients that de-duplicate.
        digest = hashlib.sha256(notice.key.encode()).hexdigest()[:32]
        msg["Message-ID"] = make_msgid(idstring=digest, domain="hotline.invalid")
        msg.set_content(sms_text(notice) + "\n\nOr acknowledge with: " + how + "\n")
        try:
            await aiosmtplib.send(msg, hostname=s.host, port=s.port, start_tls=s.starttls or None,
                                  username=s.user or None, password=s.password or None,
                                  timeout=s.timeout)
        except aiosmtplib.SMTPRecipientsRefused:
            raise DeliveryFailed("the mail server refused the address", permanent=True) from None
        except aiosmtplib.SMTPAuthenticationError:
            raise DeliveryFailed("the mail server refused our credentials", permanent=True) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            raise DeliveryFailed(f"mail server error ({type(e).__name__})") from None
        return "smtp"


class Console:
    """For local use: the page is a log line (never content, like every page)."""

    kind = "console"

    async def send(self, notice: Notice, target: str | None) -> str:
        if isinstance(notice, SummaryNotice):
            get_logger("hotline.paging").warning("page.console_summary", tip_ref=",".join(notice.refs),
                                                 count=len(notice.pages))
            return "console"
        get_logger("hotline.paging").warning(
            "page.console", tip_ref=notice.ref, channel=notice.page.channel.value,
            urgency=notice.page.urgency.value, level=notice.page.level,
            kind="deletion_requested" if notice.deletion_requested else "report")
        return "console"


def opened_at_text(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
