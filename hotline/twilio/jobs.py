"""Durable follow-up work at Twilio, retried with backoff.

Three kinds of job, each written in the same transaction as the message it
follows (an ``intake`` store hook), so none is lost to a crash and none exists
for a message that was not stored:

- ``fetch_media``: a media item that could not be downloaded while Twilio
  waited. When it finally arrives it becomes a new message of the same tip
  (the first message is sealed already, and the server keeps no message key
  to add parts to it), idempotent on ``MessageSid/MediaSid``.
- ``delete_media``: Twilio's copy of a media item we have committed.
- ``delete_message``: Twilio's record of an inbound message (opt-in setting),
  run only once no media of that message is still waiting to be fetched.

Other channels add kinds of their own with ``register`` (the voice channel's
``fetch_recording`` and ``delete_recording``): the worker, its backoff and its
durability are shared; what a kind does is the channel's.

The SIDs a job needs are wrapped under a subkey of the server secret; the
clear columns say only what kind of job it is, for which tip, and how it went.

Several front ends may share the database: each claims due jobs with a lease
(``hotline.store.leases``) in one writer job, runs them after that commit, and
records the outcome (done, retry, failed) only while the job is still leased
to it. A front end that dies leaves its jobs to the others after
``cluster.lease``. A job taken over may run twice; every kind is safe to
repeat: a deletion of what is already gone counts as done, and a fetched
media item or recording is stored once (intake's idempotency on its SIDs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crypto import CryptoError, unwrap, wrap

from ..domain import Channel, TipId
from ..errors import NotFound
from ..front_end import front_end_id
from ..intake import EXTERNAL_LABEL, Inbound, InboundAttachment, Intake
from ..logging import get_logger
from ..server_secret import ServerSecret
from ..store.leases import claim, dialect
from ..store.queries import utc_now_text
from ..store.seam import Store
from .rest import MediaLocation, TwilioFailure, TwilioRest
from .webhook import MediaRef

JOB_KEY_LABEL = "twilio-jobs"
FETCH, DELETE_MEDIA, DELETE_MESSAGE = "fetch_media", "delete_media", "delete_message"
_BATCH = 16
_IDLE = 60.0
DEFAULT_LEASE = 60.0
_RELEASE = "lease_owner = NULL, lease_until = NULL"


@dataclass(frozen=True)
class MediaOutcome:
    """One media item of a webhook, after the attempt to download it."""

    ref: MediaRef
    where: MediaLocation | None
    data: bytes | None = field(default=None, repr=False)
    error: TwilioFailure | None = None

    @property
    def retry(self) -> bool:
        return self.data is None and self.where is not None and not (
            self.error is not None and self.error.permanent)


def attachment_name(index: int, content_type: str) -> str:
    ext = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
    return f"media-{index + 1}{ext}"


JobRow = Mapping[str, Any]
"""A claimed job's columns by name: id, kind, tip_id, message_id, group_key, target, attempts."""

JobHandler = Callable[[JobRow, dict[str, object]], Awaitable[None]]
"""Runs one job of a registered kind, given its row and unwrapped target. Returning
means done (the worker deletes the row by id, so a handler must not delete it
itself: SQLite may give that id to a row the handler adds); ``TwilioFailure``
means retry with backoff."""

_INSERT = ("INSERT INTO twilio_jobs (kind, tip_id, message_id, group_key, target, next_at,"
           " created_at) VALUES (?,?,?,?,?,?,?)")


@dataclass(frozen=True)
class _NewJob:
    kind: str
    target: bytes
    next_at: float


class TwilioJobs:
    def __init__(self, *, db: Store, secret: ServerSecret, rest: TwilioRest, intake: Intake,
                 backoff: Sequence[float], delete_media: bool, delete_messages: bool,
                 clock: Callable[[], float] = time.time, lease: float = DEFAULT_LEASE,
                 owner: str | None = None) -> None:
        self._db, self._secret, self._rest, self._intake = db, secret, rest, intake
        self._lease, self._owner, self._kind = lease, owner or front_end_id(), dialect(db)
        self._backoff = tuple(backoff)
        self._delete_media, self._delete_messages = delete_media, delete_messages
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._log = get_logger("hotline.twilio.jobs")
        self._handlers: dict[str, JobHandler] = {}

    @property
    def backoff(self) -> tuple[float, ...]:
        return self._backoff

    def now(self) -> float:
        return self._clock()

    def register(self, kind: str, handler: JobHandler) -> None:
        """Let another channel's kind of job run on this worker."""
        self._handlers[kind] = handler

    def wrap(self, kind: str, payload: dict[str, object]) -> bytes:
        """A job's target, sealed under the server secret's job subkey."""
        return self._wrap(kind, payload)

    @staticmethod
    def insert(conn: sqlite3.Connection, *, kind: str, tip_id: str | None, message_id: str | None,
               group_key: bytes, target: bytes, next_at: float) -> None:
        """Add a job in the caller's transaction (writer thread)."""
        conn.execute(_INSERT, (kind, tip_id, message_id, group_key, target, next_at,
                               utc_now_text()))

    # -- planning (event loop) and recording (writer thread) ---------------------

    def _wrap(self, kind: str, payload: dict[str, object]) -> bytes:
        return wrap(self._secret.subkey(JOB_KEY_LABEL), json.dumps(payload).encode(),
                    label=f"twilio-job:{kind}")

    def _unwrap(self, kind: str, blob: bytes) -> dict[str, object]:
        *older, oldest = self._secret.versions()  # a job queued before a rotation opens too
        for version in older:
            try:
                return self._payload(self._secret.subkey(JOB_KEY_LABEL, version), kind, blob)
            except CryptoError:
                continue
        return self._payload(self._secret.subkey(JOB_KEY_LABEL, oldest), kind, blob)

    @staticmethod
    def _payload(key: bytes, kind: str, blob: bytes) -> dict[str, object]:
        data = json.loads(unwrap(key, blob, label=f"twilio-job:{kind}"))
        if not isinstance(data, dict):
            raise ValueError("job payload is not an object")
        return data

    def _media_job(self, kind: str, where: MediaLocation, ref: MediaRef, at: float) -> _NewJob:
        return _NewJob(kind, self._wrap(kind, {
            "account": where.account_sid, "message": where.message_sid, "media": where.media_sid,
            "index": ref.index, "content_type": ref.content_type}), at)

    def plan(self, message_sid: str, outcomes: Sequence[MediaOutcome]
             ) -> Callable[[sqlite3.Connection, TipId, str], None] | None:
        """The rows to write with the message, as a function for the writer thread;
        None when the message leaves no follow-up work (a plain SMS, by default), so
        nothing is written for it and the worker need not be woken."""
        now = self._clock()
        jobs: list[_NewJob] = []
        for o in outcomes:
            if o.where is None:
                continue
            if o.data is not None and self._delete_media:
                jobs.append(self._media_job(DELETE_MEDIA, o.where, o.ref, now))
            elif o.retry:
                jobs.append(self._media_job(FETCH, o.where, o.ref, now + self._backoff[0]))
        if self._delete_messages:
            jobs.append(_NewJob(DELETE_MESSAGE, self._wrap(DELETE_MESSAGE, {"message": message_sid}),
                                now + self._backoff[0]))
        if not jobs:
            return None
        group = self._secret.hash(EXTERNAL_LABEL, message_sid.encode())
        stamp = utc_now_text()

        def record(conn: sqlite3.Connection, tip_id: TipId, message_id: str) -> None:
            conn.executemany(
                "INSERT INTO twilio_jobs (kind, tip_id, message_id, group_key, target, next_at,"
                " created_at) VALUES (?,?,?,?,?,?,?)",
                [(j.kind, tip_id, message_id, group, j.target, j.next_at, stamp) for j in jobs])

        return record

    # -- the worker ---------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="hotline-twilio-jobs")

    async def stop(self) -> None:
        """Stop the worker; an interrupted job is simply run again at the next start."""
        if self._task is not None:
            # The flag as well as the cancel: the loop ends even if a cancellation is
            # swallowed by a call that completes at the same moment.
            self._stopping = True
            self._wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                delay = await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                self._log.error("twilio.jobs_failed", exc_info=True)
                delay = 5.0
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            self._wake.clear()

    async def run_due(self) -> float:
        """Claim and run one batch of due jobs; return the seconds until the next is due (0: now)."""
        now = self._clock()
        rows = await self._db.write(lambda conn: claim(
            conn, self._kind, table="twilio_jobs", due="state = 'pending' AND next_at <= ?",
            params=(now,), order="next_at, id", owner=self._owner, now=now, lease=self._lease,
            limit=_BATCH, returning="id, kind, tip_id, message_id, group_key, target, attempts"))
        await asyncio.gather(*(self._run(r) for r in rows))
        if len(rows) == _BATCH:
            return 0.0
        # The next due job, or the end of another front end's lease on one (then it is ours).
        row = await self._db.fetchone(
            "SELECT MIN(CASE WHEN lease_until > next_at THEN lease_until ELSE next_at END)"
            " FROM twilio_jobs WHERE state = 'pending'")
        if row is None or row[0] is None:
            return _IDLE
        return float(min(_IDLE, max(0.0, row[0] - self._clock())))

    async def pending(self) -> list[dict[str, object]]:
        """Jobs not done yet, without their targets (for tests and operators)."""
        rows = await self._db.fetchall(
            "SELECT kind, tip_id, state, attempts, last_error FROM twilio_jobs ORDER BY id")
        return [dict(r) for r in rows]

    async def _run(self, row: JobRow) -> None:
        job_id, kind = int(row["id"]), str(row["kind"])
        try:
            target = self._unwrap(kind, bytes(row["target"]))
            handler = self._handlers.get(kind)
            if handler is not None:
                await handler(row, target)
                await self._done(job_id)
                return
            if kind == DELETE_MESSAGE:
                if await self._media_pending(bytes(row["group_key"])):
                    await self._reschedule(job_id)
                    return
                await self._rest.delete_message(str(target["message"]))
                await self._done(job_id)
                return
            where = MediaLocation(str(target["account"]), str(target["message"]),
                                  str(target["media"]))
            if kind == DELETE_MEDIA:
                await self._rest.delete_media(where)
                await self._done(job_id)
            else:
                data = await self._rest.fetch_media(where)
                await self._store_media(row, target, where, data)
        except TwilioFailure as e:
            await self._failed(job_id, kind, int(row["attempts"]) + 1, e)
        except NotFound:  # the tip was deleted meanwhile: nothing left to do
            await self._done(job_id)
        except Exception:  # ours, not Twilio's: keep the job, retry it later
            self._log.error("twilio.job_error", kind=kind, exc_info=True)
            await self._failed(job_id, kind, int(row["attempts"]) + 1,
                               TwilioFailure("internal error"))

    async def _media_pending(self, group_key: bytes) -> bool:
        return await self._db.fetchone(
            "SELECT 1 FROM twilio_jobs WHERE group_key = ? AND kind = ? AND state = 'pending'",
            (group_key, FETCH)) is not None

    async def _store_media(self, row: JobRow, target: dict[str, object],
                           where: MediaLocation, data: bytes) -> None:
        tip = await self._db.fetchone("SELECT channel FROM tips WHERE id = ?", (row["tip_id"],))
        if tip is None:
            raise NotFound("no such tip")
        index, ctype = int(str(target["index"])), str(target["content_type"])
        await self._intake.submit(Inbound(
            channel=Channel(tip["channel"]), text="", tip_id=TipId(str(row["tip_id"])),
            external_id=f"{where.message_sid}/{where.media_sid}",
            attachments=(InboundAttachment(attachment_name(index, ctype), ctype, data),),
            meta={"media_of_message": str(row["message_id"]), "media_index": str(index + 1)}))
        follow = self._media_job(DELETE_MEDIA, where, MediaRef(index, "", ctype), self._clock())
        job_id = int(row["id"])

        owner = self._owner

        def swap(conn: sqlite3.Connection) -> None:
            gone = conn.execute("DELETE FROM twilio_jobs WHERE id = ? AND lease_owner = ?",
                                (job_id, owner)).rowcount
            if gone and self._delete_media:  # a front end that lost the job adds nothing
                conn.execute(
                    "INSERT INTO twilio_jobs (kind, tip_id, message_id, group_key, target, next_at,"
                    " created_at) VALUES (?,?,?,?,?,?,?)",
                    (follow.kind, row["tip_id"], row["message_id"], row["group_key"],
                     follow.target, follow.next_at, utc_now_text()))

        await self._db.write(swap)
        self._log.info("twilio.media_fetched", tip=row["tip_id"], attempts=int(row["attempts"]) + 1)

    async def _done(self, job_id: int) -> None:
        """Remove a finished job (only while it is ours: a new holder's row stays)."""
        await self._db.write(lambda c: c.execute(
            "DELETE FROM twilio_jobs WHERE id = ? AND lease_owner = ?", (job_id, self._owner)))

    async def _reschedule(self, job_id: int) -> None:
        at = self._clock() + max(1.0, self._backoff[0])
        await self._db.write(lambda c: c.execute(
            f"UPDATE twilio_jobs SET next_at = ?, {_RELEASE} WHERE id = ?"  # noqa: S608
            " AND lease_owner = ?", (at, job_id, self._owner)))

    async def _failed(self, job_id: int, kind: str, attempts: int, e: TwilioFailure) -> None:
        give_up = e.permanent or attempts > len(self._backoff)
        at = self._clock() + (0 if give_up else self._backoff[attempts - 1])
        state = "failed" if give_up else "pending"
        await self._db.write(lambda c: c.execute(
            f"UPDATE twilio_jobs SET attempts = ?, next_at = ?, last_error = ?, state = ?,"  # noqa: S608
            f" {_RELEASE} WHERE id = ? AND lease_owner = ?",
            (attempts, at, e.summary, state, job_id, self._owner)))
        log = self._log.warning if give_up else self._log.info
        log("twilio.job_failed" if give_up else "twilio.job_retry", kind=kind, attempts=attempts,
            error=e.summary)
