"""The one pipeline: Inbound → triage → seal → store → (page).

Every channel turns its request into one ``Inbound`` and awaits ``submit``.
This is the only place where plaintext, triage, sealing and storage meet;
``submit`` returns only after the commit, so a channel acknowledges a reporter
(or Twilio) only for what is on disk. Nothing after ``seal`` sees plaintext.

By role: what channels hand in and get back is ``intake_model.py`` (re-exported
here), the write on the writer thread is ``intake_write.py``, and this module
is the pipeline on the event loop between them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from crypto import EnvelopeContext, Recipient, encrypt_part_bytes, seal, wrap
from triage_rules.triage import Triage

from .domain import Channel, Direction, MessageId, Rng, TipId, Urgency, new_message_id, new_tip_ref
from .entropy import Draw
from .errors import NotFound, ServiceUnavailable
from .intake_model import (
    BODY_FORMAT,
    EXTERNAL_LABEL,
    RECEIPT_LABEL,
    THREAD_LABEL,
    Inbound,
    InboundAttachment,
    IntakeResult,
    StoreHook,
    body,
    rules_channel,
)
from .intake_write import (
    REF_ATTEMPTS,
    DirectoryChanged,
    Duplicate,
    MessageWrite,
    NewTipKeys,
    ThreadRace,
    TipTarget,
    write_message,
)
from .keystore import KeyStore
from .logging import get_logger
from .ops.metrics import Metrics
from .paging.directory import Directory, DirectoryCache, plan_people
from .paging.escalation import EscalationPlan, EscalationPolicy, PagingPolicy, should_page
from .recipients import RecipientPlan, inbound_recipients
from .rules_holder import RulesHolder
from .server_secret import ServerSecret
from .store import queries as q
from .store.rehash import find_tip
from .store.reply_keys import seal_reply_key
from .store.seam import Store
from .store.stamps import Stamp

__all__ = ["BODY_FORMAT", "DIRECTORY_TRIES", "EXTERNAL_LABEL", "RECEIPT_LABEL", "REF_ATTEMPTS",
           "THREAD_LABEL", "Inbound", "InboundAttachment", "Intake", "IntakeResult", "StoreHook",
           "rules_channel"]

DIRECTORY_TRIES = 5
"""Times a message is sealed again because an admin changed the directory meanwhile."""


class Intake:
    def __init__(
        self, *, db: Store, keystore: KeyStore, secret: ServerSecret, rules: RulesHolder,
        instance_id: str, recovery: Recipient, paging: PagingPolicy, default_delay: float = 300.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC), metrics: Metrics | None = None,
        tip_refs: Callable[[], str] = new_tip_ref,
    ) -> None:
        self._db, self._keystore, self._secret = db, keystore, secret
        # Injected so a test can make references collide; the default draws from each report's Rng.
        self._tip_refs = None if tip_refs is new_tip_ref else tip_refs
        self._rules, self._instance_id, self._recovery = rules, instance_id, recovery
        self._paging, self._default_delay, self._clock = paging, default_delay, clock
        self._metrics = metrics
        self._directories = DirectoryCache(db)
        self.page_opened: Callable[[], None] = lambda: None  # the page worker's wake-up
        self._log = get_logger("hotline.intake")
        self._counters: dict[tuple[Channel, Urgency], Any] = {}
        self._policy_of: tuple[Directory, EscalationPolicy] | None = None

    async def submit(self, inbound: Inbound, *, with_message: StoreHook | None = None,
                     hook_for: Callable[[Urgency], StoreHook] | None = None,
                     rng: Rng | None = None) -> IntakeResult:
        """Triage, seal, commit; return after the commit.

        ``with_message`` runs in the message's transaction; ``hook_for`` instead makes
        that hook on the event loop once the urgency is decided, so whatever the hook
        needs computed (a channel's sealing) is not done on the writer thread, which
        every commit waits on. An exception raised by the hook rolls the message back
        and reaches the caller. ``rng``: the channel's draw of random bytes for this
        report (``hotline.entropy``); else one is read here."""
        draw = rng if rng is not None else Draw()
        for _attempt in range(3):
            try:
                return await self._submit_once(inbound, with_message, hook_for, draw)
            except ThreadRace:
                continue
        raise ServiceUnavailable("could not store the message, please try again")

    async def _submit_once(self, inbound: Inbound, with_message: StoreHook | None,
                           hook_for: Callable[[Urgency], StoreHook] | None,
                           draw: Rng) -> IntakeResult:
        external_key = self._external_key(inbound)
        # The write checks the external id again, authoritatively. The early read only
        # spares a Twilio retry the sealing; a web form's single use is checked in the
        # write (the channel's hook), and a resent form is rare, so for it no read.
        if (external_key is not None and inbound.external_id is not None
                and inbound.channel is not Channel.WEB):
            duplicate = await self._find_duplicate(external_key, inbound.external_id)
            if duplicate is not None:
                return duplicate
        # Every language's rules run: the page language says nothing about the text's.
        # No spans: a decision records rule ids and urgency, never where text matched.
        # The second reader (if on) may raise the rules' urgency, never lower it.
        decision = self._rules.triage(inbound.text, channel=rules_channel(inbound.channel))
        urgency = max(decision.urgency, inbound.urgency_floor or Urgency.LOW)
        if hook_for is not None:
            with_message = hook_for(urgency)
        target = await self._target_tip(inbound, draw)
        for _attempt in range(DIRECTORY_TRIES):
            directory, stamp = await self._directories.get()
            try:
                result = await self._seal_and_store(inbound, target, directory, stamp, urgency,
                                                    decision, external_key, with_message, draw)
                break
            except DirectoryChanged:  # an admin changed who is paged: seal for the new directory
                self._directories.invalidate(stamp)
        else:
            raise ServiceUnavailable("could not store the message, please try again")
        if result.duplicate:  # the same external id was committed meanwhile
            return result
        if result.page:
            self.page_opened()
        if self._metrics is not None:
            self._count(inbound.channel, urgency)
        self._log.info("intake.stored", tip=target.id, channel=inbound.channel.value,
                       urgency=urgency.value, ruleset_version=decision.ruleset_version,
                       reader_version=decision.reader_version,
                       new_tip=target.new, attachments=len(inbound.attachments),
                       page=result.page)
        return result

    def _count(self, channel: Channel, urgency: Urgency) -> None:
        """The received counter's child for (channel, urgency), looked up once and kept."""
        child = self._counters.get((channel, urgency))
        if child is None:
            assert self._metrics is not None
            child = self._metrics.tips_received.labels(channel.value, urgency.value)
            self._counters[(channel, urgency)] = child
        child.inc()

    def _policy(self, directory: Directory) -> EscalationPolicy:
        """The directory's escalation policy, built once per directory read, not per use."""
        kept = self._policy_of
        if kept is None or kept[0] is not directory:
            kept = self._policy_of = (directory, directory.effective_policy(self._default_delay))
        return kept[1]

    async def _seal_and_store(
        self, inbound: Inbound, target: TipTarget, directory: Directory, stamp: Stamp,
        urgency: Urgency, decision: Triage, external_key: bytes | None,
        with_message: StoreHook | None, draw: Rng,
    ) -> IntakeResult:
        """Seal for ``directory`` and commit, unless the directory changed since ``stamp``."""
        message_id = new_message_id(draw)
        now = self._clock()
        policy = self._policy(directory)
        page_plan = self._page_plan(directory, policy, target.ref, inbound.channel, urgency, now,
                                    message_id)
        plan = await self._recipients(target, directory, policy, now, page_plan)
        paged_ids = ({n: directory.people[n].id for n in plan_people(page_plan)}
                     if page_plan is not None else {})
        ctx = EnvelopeContext(self._instance_id, target.id, message_id, Direction.IN.value,
                              inbound.channel.value)
        sealed = seal(ctx, body(inbound, now, urgency, decision), plan.recipients, rng=draw)
        parts = [(i, encrypt_part_bytes(ctx, sealed.message_key, i, a.data))
                 for i, a in enumerate(inbound.attachments, start=1)]
        row = q.NewMessage(
            id=message_id, tip_id=target.id, direction=Direction.IN.value,
            created_at=q.utc_now_text(now), urgency=urgency.value,  # the one timestamp text
            ruleset_version=decision.ruleset_version, external_key=external_key,
            envelope=wrap(target.storage_key, sealed.envelope, label=target.id, rng=draw),
            attachments=parts,
            channel=inbound.channel.value,
        )
        job = MessageWrite(channel=inbound.channel, target=target, row=row,
                           advocate_ids=tuple(plan.advocate_ids), urgency=urgency, now=now,
                           stamp=stamp, with_message=with_message, page_plan=page_plan,
                           paged_ids=paged_ids, new_ref=self._new_ref)
        try:
            ref, paged = await self._db.write(lambda conn: write_message(conn, job))
        except Duplicate as d:  # rolled back with everything the write did before it
            return d.stored
        return IntakeResult(target.id, ref, MessageId(message_id), urgency, target.new, False,
                            paged)

    def _page_plan(self, directory: Directory, policy: EscalationPolicy, tip_ref: str,
                   channel: Channel, urgency: Urgency, now: datetime,
                   message_id: str) -> EscalationPlan | None:
        """The escalation this message would open (if the tip has none running), or None."""
        when = should_page(self._paging, urgency, now)
        if when is False:
            return None
        at = now if when is True else when
        assert isinstance(at, datetime)
        plan = directory.plan(policy, tip_ref, channel.value, urgency, at, f"esc-{message_id}")
        if plan is None:
            self._log.error("page.nobody", tip_ref=tip_ref,
                            reason="no escalation level names an active advocate")
        return plan

    # -- tip resolution --------------------------------------------------------

    async def _target_tip(self, inbound: Inbound, draw: Rng) -> TipTarget:
        if inbound.tip_id is not None:
            row = await self._db.fetchone("SELECT id, ref FROM tips WHERE id = ?", (inbound.tip_id,))
            if row is None:
                raise NotFound("no such tip")
            return await self._existing(TipId(row["id"]), row["ref"])
        if inbound.sender is not None:
            # Under every secret version; a match under an old one is rewritten (rotation).
            row = await find_tip(self._db, self._secret, THREAD_LABEL, inbound.sender.encode(),
                                 "thread_hash", "id, ref")
            if row is not None:
                return await self._existing(TipId(row["id"]), row["ref"])
        # The pair is durable in the key store already (taken from its pool), so no
        # committed envelope can lack its key, and the key store's fsync is not
        # in series with this message's commit.
        tip_id, key = await self._keystore.take_new()
        return TipTarget(tip_id, self._new_ref(draw), True, key, self._new_tip_keys(inbound, tip_id, key))

    def _new_tip_keys(self, inbound: Inbound, tip_id: TipId, storage_key: bytes) -> NewTipKeys:
        if inbound.receipt is None:
            return NewTipKeys(thread_hash=(self._secret.hash(THREAD_LABEL, inbound.sender.encode())
                                            if inbound.sender is not None else None))
        # Wrapped under the tip's key: in clear it would let a database copy test receipts.
        return NewTipKeys(
            thread_hash=(self._secret.hash(THREAD_LABEL, inbound.sender.encode())
                         if inbound.sender is not None else None),
            receipt_lookup=self._secret.hash(RECEIPT_LABEL, inbound.receipt.lookup_id),
            reply_sealed=seal_reply_key(storage_key, tip_id, inbound.receipt.reply.box_public))

    def _new_ref(self, rng: Rng = os.urandom) -> str:
        return self._tip_refs() if self._tip_refs is not None else new_tip_ref(rng)

    async def _existing(self, tip_id: TipId, ref: str) -> TipTarget:
        key = await self._keystore.get(tip_id)
        if key is None:
            raise NotFound("this conversation has been deleted")
        return TipTarget(tip_id, ref, False, key)

    async def _recipients(self, target: TipTarget, directory: Directory,
                          policy: EscalationPolicy, now: datetime,
                          page_plan: EscalationPlan | None) -> RecipientPlan:
        """On the tip, on call now, and everyone the escalation could page (CRYPTO.md)."""
        on_tip = [] if target.new else await q.tip_advocate_keys(self._db, target.id)
        chain = directory.chain(policy, now)
        if page_plan is not None:  # a page deferred to the morning pages the morning's people
            chain |= plan_people(page_plan)
        plan = inbound_recipients(on_call=directory.keys_for(chain), on_tip=on_tip,
                                  recovery=self._recovery)
        if not plan.advocate_ids:
            self._log.error("intake.no_advocate", tip=target.id,
                            reason="sealed to the recovery key only; nobody is on call")
        return plan

    # -- idempotency -------------------------------------------------------------

    def _external_key(self, inbound: Inbound) -> bytes | None:
        if inbound.external_id is None:
            return None
        return self._secret.hash(EXTERNAL_LABEL, inbound.external_id.encode())

    async def _find_duplicate(self, key: bytes, external_id: str) -> IntakeResult | None:
        row = None
        for k in [key, *self._secret.hashes(EXTERNAL_LABEL, external_id.encode())[1:]]:
            row = await self._db.fetchone(  # a retry of a delivery from before a rotation too
                "SELECT m.id, m.tip_id, m.urgency, t.ref FROM messages m JOIN tips t ON t.id ="
                " m.tip_id WHERE m.external_key = ?", (k,)) or row
        if row is None:
            return None
        return IntakeResult(TipId(row["tip_id"]), row["ref"], MessageId(row["id"]),
                            Urgency.parse(row["urgency"]), False, True, False)
