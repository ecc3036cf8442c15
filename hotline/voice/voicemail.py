"""Voicemails: fetched from Twilio, encrypted as an attachment, then deleted there.

Two callbacks name a recording, in either order, perhaps more than once: the
``<Record>`` action (the call goes on; the file may not be ready yet) and the
``recordingStatusCallback`` (the file is ready). Each only makes sure that one
durable ``fetch_recording`` job exists (a unique index allows one per
recording) and is committed before Twilio gets its answer; the ready callback
makes it due now. The job worker (``twilio.jobs``, shared with SMS media,
same backoff) then:

1. skips the download if the voicemail is already stored (a repeat);
2. downloads ``…/Recordings/RE….wav|mp3`` with the account's credentials from
   the configured API base, bounded by the longest recording allowed; a 404
   is retried (Twilio may not have finished writing it), like a 5xx;
3. submits it as one message of the call's tip with the recording as a
   secretstream attachment, and in the same transaction adds the
   ``delete_recording`` job: Twilio's copy is deleted only after ours is
   committed, and a crash cannot lose the deletion.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from ..domain import MessageId, TipId
from ..intake import InboundAttachment
from ..logging import get_logger
from ..twilio.jobs import JobRow, TwilioJobs
from ..twilio.rest import TwilioRest
from .calls import CallLog, CallRef
from .forms import Recording

FETCH_RECORDING: Final = "fetch_recording"
DELETE_RECORDING: Final = "delete_recording"
CONTENT_TYPES: Final = {"wav": "audio/x-wav", "mp3": "audio/mpeg"}


class Voicemails:
    def __init__(self, *, calls: CallLog, rest: TwilioRest, jobs: TwilioJobs, fmt: str,
                 max_bytes: int, delete: bool) -> None:
        self._calls, self._rest, self._jobs = calls, rest, jobs
        self._fmt, self._max_bytes, self._delete = fmt, max_bytes, delete
        self._log = get_logger("hotline.voice")

    def register(self) -> None:
        """Teach the job worker these two kinds (before it starts)."""
        self._jobs.register(FETCH_RECORDING, self._fetch)
        self._jobs.register(DELETE_RECORDING, self._delete_at_twilio)

    async def announce(self, rec: Recording, ref: CallRef | None, lang: str | None, *,
                       ready: bool) -> bool:
        """A callback named a recording: one fetch job exists once this returns.

        Returns False when there is nothing to fetch (already stored).
        """
        group = self._calls.external_key(rec.recording_sid)
        now = self._jobs.now()
        at = now if ready else now + self._jobs.backoff[0]
        target = self._jobs.wrap(FETCH_RECORDING, {
            "call": rec.call_sid, "recording": rec.recording_sid, "lang": lang,
            "duration": rec.duration})

        def write(conn: sqlite3.Connection) -> bool:
            if conn.execute("SELECT 1 FROM messages WHERE external_key = ?", (group,)).fetchone():
                return False
            job = conn.execute("SELECT id FROM twilio_jobs WHERE kind = ? AND group_key = ?",
                               (FETCH_RECORDING, group)).fetchone()
            if job is None:
                TwilioJobs.insert(conn, kind=FETCH_RECORDING, tip_id=ref.tip_id if ref else None,
                                  message_id=ref.message_id if ref else None, group_key=group,
                                  target=target, next_at=at)
            elif ready:  # the file is there now: due at once, even after giving up
                conn.execute("UPDATE twilio_jobs SET next_at = CASE WHEN next_at < ? THEN next_at ELSE ? END,"
                             " state = 'pending',"
                             " attempts = CASE state WHEN 'failed' THEN 0 ELSE attempts END"
                             " WHERE id = ?", (at, at, job[0]))
            return True

        created = await self._calls.db.write(write)
        self._jobs.wake()
        return created

    async def absent(self, rec: Recording) -> None:
        """Twilio says no recording was made: no fetch is waiting for it."""
        group = self._calls.external_key(rec.recording_sid)
        await self._calls.db.write(lambda c: c.execute(
            "DELETE FROM twilio_jobs WHERE kind = ? AND group_key = ?", (FETCH_RECORDING, group)))

    # -- the job kinds -----------------------------------------------------------------

    async def _fetch(self, row: JobRow, target: dict[str, object]) -> None:
        group = bytes(row["group_key"])
        if await self._calls.db.fetchone("SELECT 1 FROM messages WHERE external_key = ?", (group,)):
            return  # stored already; its deletion job was committed with it
        sid = str(target["recording"])
        data = await self._rest.fetch_recording(sid, fmt=self._fmt, limit=self._max_bytes)
        ref = (CallRef(TipId(str(row["tip_id"])), MessageId(str(row["message_id"])))
               if row["tip_id"] is not None else None)
        meta = {"event": "voicemail", "recording_seconds": str(target.get("duration") or 0)}
        if target.get("lang"):
            meta["language"] = str(target["lang"])
        delete_target = self._jobs.wrap(DELETE_RECORDING, {"recording": sid})
        now = self._jobs.now()

        def with_message(conn: sqlite3.Connection, tip_id: TipId, message_id: MessageId) -> None:
            # The fetch job itself is removed by the worker once this returns; a crash
            # before that only re-runs it, and step 1 finds the voicemail stored.
            if self._delete:
                TwilioJobs.insert(conn, kind=DELETE_RECORDING, tip_id=tip_id,
                                  message_id=message_id, group_key=group, target=delete_target,
                                  next_at=now)

        attachment = InboundAttachment(f"voicemail.{self._fmt}", CONTENT_TYPES[self._fmt], data)
        result = await self._calls.fact(ref, sid, meta, attachments=(attachment,),
                                        with_message=with_message)
        self._jobs.wake()
        self._log.info("voice.voicemail_stored", tip=result.tip_id, duplicate=result.duplicate,
                       attempts=int(row["attempts"]) + 1, size=len(data))

    async def _delete_at_twilio(self, row: JobRow, target: dict[str, object]) -> None:
        await self._rest.delete_recording(str(target["recording"]))
        self._log.info("voice.recording_deleted", tip=row["tip_id"])
