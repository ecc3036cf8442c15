"""Everything the Twilio channels hold while the service runs, opened and closed
together (inside the event loop: twilio's async client makes its aiohttp session
when it is built)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..config import Config
from ..intake import Intake
from ..server_secret import ServerSecret
from ..store.seam import Store
from ..voice.runtime import VoiceRuntime
from .conversations import Conversations
from .jobs import MediaOutcome, TwilioJobs
from .outbox import SmsOutbox
from .rest import TwilioFailure, TwilioRest, media_location
from .texts import AutoReplyTexts
from .webhook import IncomingMessage, MediaRef

STATUS_CALLBACK_PATH = "/twilio/sms/status"


@dataclass
class TwilioServices:
    config: Config
    rest: TwilioRest
    conversations: Conversations
    jobs: TwilioJobs
    outbox: SmsOutbox
    texts: AutoReplyTexts
    voice: VoiceRuntime

    @property
    def account_sid(self) -> str:
        return self.rest.account_sid

    @property
    def auth_token(self) -> str:
        return str(self.config["twilio.auth_token"])

    @classmethod
    async def open(cls, config: Config, *, db: Store, secret: ServerSecret,
                   intake: Intake) -> TwilioServices:
        c = config
        texts = AutoReplyTexts(c["organisation.emergency_number"], c["sms.default_language"],
                               {"en": c["sms.auto_reply_en"], "es": c["sms.auto_reply_es"]})
        rest = TwilioRest(account_sid=c["twilio.account_sid"], auth_token=c["twilio.auth_token"],
                          api_base=c["twilio.api_base"], timeout=c["twilio.timeout"],
                          max_media_size=c["sms.max_media_size"])
        await rest.open()
        backoff = c["twilio.retry_backoff"]
        jobs = TwilioJobs(db=db, secret=secret, rest=rest, intake=intake, backoff=backoff,
                          delete_media=c["twilio.delete_media"],
                          delete_messages=c["twilio.delete_messages"], lease=c["cluster.lease"])
        outbox = SmsOutbox(db=db, secret=secret, rest=rest, number=c["twilio.number"],
                           status_callback=c["service.public_url"] + STATUS_CALLBACK_PATH,
                           backoff=backoff, lease=c["cluster.lease"])
        voice = VoiceRuntime.build(c, db=db, secret=secret, intake=intake, rest=rest, jobs=jobs)
        try:
            await outbox.start()
        except BaseException:
            await rest.close()
            raise
        jobs.start()
        conversations = Conversations(db=db, secret=secret, window=c["sms.auto_reply_window"],
                                      budget=c["sms.auto_reply_budget"])
        return cls(config, rest, conversations, jobs, outbox, texts, voice)

    async def close(self) -> None:
        await self.jobs.stop()
        await self.outbox.stop()
        await self.rest.close()

    async def fetch_media(self, message: IncomingMessage) -> list[MediaOutcome]:
        """Download a message's media while Twilio waits; failures are kept for retry."""
        return list(await asyncio.gather(*(self._fetch(m) for m in message.media)))

    async def _fetch(self, ref: MediaRef) -> MediaOutcome:
        where = media_location(ref.url, api_base=self.rest.api_base, account_sid=self.account_sid)
        if where is None:  # not a media item of our account: no credentials go there
            return MediaOutcome(ref, None, error=TwilioFailure("not a Twilio media URL of this "
                                                               "account", permanent=True))
        try:
            return MediaOutcome(ref, where, await self.rest.fetch_media(where))
        except TwilioFailure as e:
            return MediaOutcome(ref, where, error=e)
