"""Whom a message is sealed to: a pure decision, said at every call site.

An inbound message is sealed to everyone who may be paged for it (on call
now), everyone already on the tip, and the recovery key, so whoever is paged
can read it and no report is lost because one person lost a key.
The reporter's receipt key is never a recipient of the reporter's own words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from crypto import Recipient

from .domain import AdvocateId


@dataclass(frozen=True)
class AdvocateKey:
    id: AdvocateId
    name: str
    fingerprint: str
    box_public: bytes

    def recipient(self) -> Recipient:
        return Recipient(fingerprint=self.fingerprint, box_public=self.box_public)


@dataclass(frozen=True)
class RecipientPlan:
    recipients: tuple[Recipient, ...]
    advocate_ids: tuple[AdvocateId, ...]  # advocates who will be on the tip afterwards


def inbound_recipients(
    *, on_call: Iterable[AdvocateKey], on_tip: Iterable[AdvocateKey], recovery: Recipient
) -> RecipientPlan:
    advocates: dict[AdvocateId, AdvocateKey] = {}
    for a in [*on_tip, *on_call]:
        advocates.setdefault(a.id, a)
    recipients = {recovery.fingerprint: recovery}
    for a in advocates.values():
        recipients.setdefault(a.fingerprint, a.recipient())
    return RecipientPlan(tuple(recipients.values()), tuple(advocates))
