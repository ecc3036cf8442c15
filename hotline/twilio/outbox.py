"""Advocates' replies out by SMS/WhatsApp, with delivery state and retries.

The reporter's number is never stored: the advocate's client decrypts it from
the tip's inbound envelope and hands it over for one send (the API checks its
keyed hash against the tip's thread first). The text the advocate typed
arrives with it, in clear, because Twilio needs it; the stored copy is the
envelope the advocate sealed on their device.

So retries can only live in memory: a failed send is retried with
``twilio.retry_backoff`` by a task holding the number and text, and the
``sms_outbox`` row says how it went (``sent``, ``retrying``, ``failed``, and
later ``delivered``/``undelivered`` from Twilio's status callback). A restart
forgets the number: pending sends become ``failed`` with a "send it again"
note, which the advocate sees in ``hotline read``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from ..logging import get_logger
from ..server_secret import ServerSecret
from ..store.queries import utc_now_text
from ..store.seam import Store
from .rest import TwilioFailure, TwilioRest
from .webhook import whatsapp_from

OUTBOUND_SID_LABEL = "twilio-outbound-sid"
RESTARTED = "the service restarted before this reply was sent; send it again"


@dataclass(frozen=True)
class Delivery:
    status: str  # sent | retrying | failed
    attempts: int
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"status": self.status, "attempts": self.attempts, "error": self.error}


def record_pending(conn: sqlite3.Connection, tip_id: str, message_id: str) -> None:
    """The outbox row, written with the sealed reply (same transaction)."""
    conn.execute("INSERT INTO sms_outbox (message_id, tip_id, status, attempts, updated_at)"
                 " VALUES (?, ?, 'sending', 0, ?)", (message_id, tip_id, utc_now_text()))


class SmsOutbox:
    def __init__(self, *, db: Store, secret: ServerSecret, rest: TwilioRest, number: str,
                 status_callback: str | None, backoff: Sequence[float]) -> None:
        self._db, self._secret, self._rest = db, secret, rest
        self._number, self._status_callback = number, status_callback
        self._backoff = tuple(backoff)
        self._retries: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self._log = get_logger("hotline.twilio.outbox")

    async def start(self) -> None:
        """Sends that were pending when the service stopped cannot be retried: say so."""
        await self._db.write(lambda c: c.execute(
            "UPDATE sms_outbox SET status = 'failed', error = ?, updated_at = ?"
            " WHERE status IN ('sending', 'retrying')", (RESTARTED, utc_now_text())))

    async def stop(self) -> None:
        self._stopping = True
        tasks = list(self._retries.values())
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._retries.clear()

    async def send(self, tip_id: str, message_id: str, to: str, body: str) -> Delivery:
        """One attempt now; on a passing failure, retries continue in the background."""
        delivery = await self._attempt(message_id, to, body, attempts=1)
        if delivery.status == "retrying":
            self._retries[message_id] = asyncio.create_task(
                self._retry(tip_id, message_id, to, body), name="hotline-sms-retry")
        return delivery

    async def _attempt(self, message_id: str, to: str, body: str, attempts: int) -> Delivery:
        try:
            sid = await self._rest.send_message(to=to, from_=whatsapp_from(self._number, to),
                                                body=body, status_callback=self._status_callback)
        except TwilioFailure as e:
            last = e.permanent or attempts > len(self._backoff)
            delivery = Delivery("failed" if last else "retrying", attempts, e.summary)
            await self._save(message_id, delivery, None)
            self._log.warning("sms.reply_failed", message_id=message_id, attempts=attempts,
                              error=e.summary, status=delivery.status)
            return delivery
        delivery = Delivery("sent", attempts)
        await self._save(message_id, delivery, self._secret.hash(OUTBOUND_SID_LABEL, sid.encode()))
        self._log.info("sms.reply_sent", message_id=message_id, attempts=attempts)
        return delivery

    async def _retry(self, tip_id: str, message_id: str, to: str, body: str) -> None:
        try:
            for attempts, delay in enumerate(self._backoff, start=2):
                await asyncio.sleep(delay)
                if self._stopping or (await self._attempt(message_id, to, body, attempts)
                                      ).status != "retrying":
                    return
        finally:
            self._retries.pop(message_id, None)

    async def _save(self, message_id: str, d: Delivery, sid_key: bytes | None) -> None:
        await self._db.write(lambda c: c.execute(
            "UPDATE sms_outbox SET status = ?, attempts = ?, error = ?,"
            " sid_key = COALESCE(?, sid_key), updated_at = ? WHERE message_id = ?",
            (d.status, d.attempts, d.error, sid_key, utc_now_text(), message_id)))

    async def status_callback(self, message_sid: str, status: str, error_code: str | None) -> bool:
        """Twilio's later word on a sent reply; False if it is not one of ours."""
        mapped = {"delivered": "delivered", "undelivered": "undelivered",
                  "failed": "undelivered"}.get(status)
        if mapped is None:
            return True
        keys = self._secret.hashes(OUTBOUND_SID_LABEL, message_sid.encode())  # every version
        code = error_code if error_code and error_code.isdigit() and len(error_code) <= 6 else None
        error = f"Twilio error {code}" if code and mapped != "delivered" else None

        def update(c: sqlite3.Connection) -> int:
            return sum(c.execute("UPDATE sms_outbox SET status = ?, error = COALESCE(?, error),"
                                 " updated_at = ? WHERE sid_key = ?",
                                 (mapped, error, utc_now_text(), key)).rowcount for key in keys)

        return await self._db.write(update) > 0
