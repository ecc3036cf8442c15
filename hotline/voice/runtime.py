"""What the voice channel holds while the service runs, built with the Twilio services
(so its job kinds are registered before the shared job worker starts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..config import Config
from ..intake import Intake
from ..paging.roster import dial_order
from ..server_secret import ServerSecret
from ..store.seam import Store
from ..twilio.jobs import TwilioJobs
from ..twilio.rest import TwilioRest
from .calls import CallLog
from .ivr import Ivr, Ring
from .voicemail import Voicemails


@dataclass(frozen=True)
class VoiceRuntime:
    ivr: Ivr
    calls: CallLog
    voicemail: Voicemails

    @classmethod
    def build(cls, config: Config, *, db: Store, secret: ServerSecret, intake: Intake,
              rest: TwilioRest, jobs: TwilioJobs) -> VoiceRuntime:
        ivr = Ivr.from_config(config)
        calls = CallLog(db=db, secret=secret, intake=intake)
        voicemail = Voicemails(calls=calls, rest=rest, jobs=jobs,
                               fmt=config["voice.recording_format"],
                               max_bytes=ivr.max_recording_bytes,
                               delete=config["voice.delete_recordings"])
        voicemail.register()
        return cls(ivr, calls, voicemail)

    async def ring_order(self, now: datetime | None = None) -> list[Ring]:
        """Who to ring now, in escalation order; advocates without a phone are skipped."""
        contacts = await dial_order(self.calls.db, now or datetime.now(UTC))
        return [Ring(c.advocate_id, c.name, c.phone) for c in contacts if c.phone]

    async def ringable(self, advocate_id: int) -> Ring | None:
        """One advocate of a call's dial snapshot, if they can still be rung."""
        row = await self.calls.db.fetchone(
            "SELECT id, name, phone FROM advocates WHERE id = ? AND active = 1", (advocate_id,))
        if row is None or not row["phone"]:
            return None
        return Ring(int(row["id"]), str(row["name"]), str(row["phone"]))
