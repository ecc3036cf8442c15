"""Paging while the service runs: the notifiers and the worker, opened and closed together."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from ..config import Config
from ..ops.metrics import Metrics
from ..store.seam import Store
from ..twilio.rest import TwilioRest
from .escalation import PagingPolicy, paging_policy_from_dict
from .notifiers import Console, Email, SmtpSettings, TwilioCall, TwilioSms, Webhook
from .settings import policy_table
from .worker import PageWorker


def paging_policy(config: Config) -> PagingPolicy:
    return paging_policy_from_dict(policy_table(config.values))


@dataclass
class Paging:
    worker: PageWorker
    session: aiohttp.ClientSession

    @classmethod
    async def open(cls, config: Config, *, db: Store, rest: TwilioRest | None,
                   metrics: Metrics) -> Paging:
        c = config
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=c["paging.send_timeout"]))
        smtp = SmtpSettings(c["paging.smtp_host"], c["paging.smtp_port"], c["paging.smtp_starttls"],
                            c["paging.smtp_user"], c["paging.smtp_password"], c["paging.smtp_from"],
                            c["paging.send_timeout"])
        notifiers = {n.kind: n for n in (
            TwilioSms(rest, c["twilio.number"]),
            TwilioCall(rest, c["twilio.number"], c["service.public_url"]),
            Webhook(lambda: session, c["paging.webhook_secret"], c["paging.send_timeout"]),
            Email(smtp),
            Console(),
        )}
        worker = PageWorker(db=db, notifiers=notifiers, backoff=c["paging.retry_backoff"],
                            metrics=metrics, coalesce_window=c["paging.coalesce_window"],
                            lease=c["cluster.lease"])
        await worker.start()
        return cls(worker, session)

    async def close(self) -> None:
        await self.worker.stop()
        await self.session.close()
