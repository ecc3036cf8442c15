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

Several front ends may share the database, so "pending" needs an owner: the
row carries the sending front end's lease (``lease_owner``/``lease_until``),
renewed while its retry task waits. A graceful stop marks its own pending
sends failed at once; one that dies is noticed by any front end once its
lease has run out (``sweep``, at start and every half lease). A reply
that was in flight (``sending``) when its front end vanished may have
reached the reporter, and says so instead of "send it again": a second text
on an abuser-held phone is a risk of its own. Only the holder writes a send's
outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..front_end import front_end_id
from ..logging import get_logger
from ..server_secret import ServerSecret
from ..store.leases import holding
from ..store.queries import utc_now_text
from ..store.seam import Store
from .rest import TwilioFailure, TwilioRest
from .webhook import whatsapp_from

OUTBOUND_SID_LABEL = "twilio-outbound-sid"
RESTARTED = "the service restarted before this reply was sent; send it again"
MAYBE_SENT = ("the service stopped while this reply was being sent; it may have reached the "
              "reporter: check with them before sending it again")
DEFAULT_LEASE = 60.0
_RELEASE = "lease_owner = NULL, lease_until = NULL"


@dataclass(frozen=True)
class Delivery:
    status: str  # sent | retrying | failed
    attempts: int
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"status": self.status, "attempts": self.attempts, "error": self.error}


class SmsOutbox:
    def __init__(self, *, db: Store, secret: ServerSecret, rest: TwilioRest, number: str,
                 status_callback: str | None, backoff: Sequence[float],
                 lease: float = DEFAULT_LEASE, owner: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._db, self._secret, self._rest = db, secret, rest
        self._number, self._status_callback = number, status_callback
        self._backoff = tuple(backoff)
        self._lease, self._owner, self._clock = lease, owner or front_end_id(), clock
        self._retries: dict[str, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False
        self._log = get_logger("hotline.twilio.outbox")

    def record_pending(self, conn: sqlite3.Connection, tip_id: str, message_id: str) -> None:
        """The outbox row, written with the sealed reply (same transaction), leased to us."""
        conn.execute("INSERT INTO sms_outbox (message_id, tip_id, status, attempts, updated_at,"
                     " lease_owner, lease_until) VALUES (?, ?, 'sending', 0, ?, ?, ?)",
                     (message_id, tip_id, utc_now_text(), self._owner, self._clock() + self._lease))

    async def start(self) -> None:
        """Sends whose front end is gone cannot be retried: say so, now and every half lease."""
        await self.sweep()
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="hotline-sms-sweep")

    async def sweep(self) -> int:
        """Mark failed every pending send whose lease ran out (its front end is gone)."""
        now = self._clock()
        count = await self._db.write(lambda c: c.execute(
            "UPDATE sms_outbox SET status = 'failed', error = CASE status WHEN 'sending' THEN ?"  # noqa: S608
            f" ELSE ? END, updated_at = ?, {_RELEASE} WHERE status IN ('sending', 'retrying')"
            " AND (lease_until IS NULL OR lease_until <= ?)",
            (MAYBE_SENT, RESTARTED, utc_now_text(), now)).rowcount)
        if count:
            self._log.warning("sms.replies_orphaned", count=count,
                              reason="their front end stopped before they were sent")
        return int(count)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 2)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is down: try again next time
                self._log.warning("sms.sweep_failed", exc_info=True)

    async def stop(self) -> None:
        self._stopping = True
        tasks = [t for t in (self._sweeper, *self._retries.values()) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._retries.clear()
        self._sweeper = None
        # Our own retries end with us: tell the advocates now rather than after the lease.
        with contextlib.suppress(Exception):
            await self._db.write(lambda c: c.execute(
                f"UPDATE sms_outbox SET status = 'failed', error = ?, updated_at = ?, {_RELEASE}"  # noqa: S608
                " WHERE status = 'retrying' AND lease_owner = ?",
                (RESTARTED, utc_now_text(), self._owner)))

    async def send(self, tip_id: str, message_id: str, to: str, body: str) -> Delivery:
        """One attempt now; on a passing failure, retries continue in the background."""
        delivery = await self._attempt(message_id, to, body, attempts=1)
        if delivery.status == "retrying":
            self._retries[message_id] = asyncio.create_task(
                self._retry(tip_id, message_id, to, body), name="hotline-sms-retry")
        return delivery

    async def _attempt(self, message_id: str, to: str, body: str, attempts: int) -> Delivery:
        if attempts > 1 and not await self._renew(message_id, "sending"):
            return Delivery("failed", attempts - 1, "taken over")  # swept: we were too slow
        try:
            # The lease is renewed while Twilio answers (within twilio.timeout), so no other
            # front end declares this send orphaned meanwhile.
            sid = await holding(self._rest.send_message(
                to=to, from_=whatsapp_from(self._number, to), body=body,
                status_callback=self._status_callback),
                lambda: self._renew(message_id, "sending"), self._lease / 3)
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
                if not await self._wait(message_id, delay):
                    return
                if self._stopping or (await self._attempt(message_id, to, body, attempts)
                                      ).status != "retrying":
                    return
        finally:
            self._retries.pop(message_id, None)

    async def _wait(self, message_id: str, delay: float) -> bool:
        """Sleep ``delay``, renewing the lease every half lease; False if it was lost."""
        end = self._clock() + delay
        while (left := end - self._clock()) > 0:
            await asyncio.sleep(min(left, self._lease / 2))
            if not await self._renew(message_id, "retrying"):
                return False
        return True

    async def _renew(self, message_id: str, status: str) -> bool:
        until = self._clock() + self._lease
        return bool(await self._db.write(lambda c: c.execute(
            "UPDATE sms_outbox SET status = ?, lease_until = ? WHERE message_id = ?"
            " AND lease_owner = ? AND status IN ('sending', 'retrying')",
            (status, until, message_id, self._owner)).rowcount))

    async def _save(self, message_id: str, d: Delivery, sid_key: bytes | None) -> None:
        """Record an attempt's outcome (only while the reply is ours); a final one ends the lease."""
        if d.status == "retrying":
            lease, params = "lease_until = ?", (self._clock() + self._lease,)
        else:
            lease, params = _RELEASE, ()
        await self._db.write(lambda c: c.execute(
            "UPDATE sms_outbox SET status = ?, attempts = ?, error = ?,"  # noqa: S608
            f" sid_key = COALESCE(?, sid_key), updated_at = ?, {lease}"
            " WHERE message_id = ? AND lease_owner = ?",
            (d.status, d.attempts, d.error, sid_key, utc_now_text(), *params, message_id,
             self._owner)))

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
