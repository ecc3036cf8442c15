"""The one pipeline: Inbound → triage → seal → store → (page).

Every channel turns its request into one ``Inbound`` and awaits ``submit``.
This is the only place where plaintext, triage, sealing and storage meet;
``submit`` returns only after the commit, so a channel acknowledges a reporter
(or Twilio) only for what is on disk. Nothing after ``seal`` sees plaintext.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from crypto import (
    EnvelopeContext,
    ReceiptKeys,
    Recipient,
    encrypt_part_bytes,
    seal,
    wrap,
)
from triage_rules.triage import Triage

from .deletion import reporter_wrote
from .domain import Channel, Direction, MessageId, Rng, TipId, Urgency, new_message_id, new_tip_ref
from .entropy import Draw
from .errors import NotFound, ServiceUnavailable
from .keystore import KeyStore
from .logging import get_logger
from .ops.metrics import Metrics
from .paging.directory import Directory, DirectoryCache, plan_people
from .paging.escalation import EscalationPlan, PagingPolicy, TipRef, should_page
from .paging.store import open_escalation, should_open
from .recipients import RecipientPlan, inbound_recipients
from .rules_holder import RulesHolder
from .server_secret import ServerSecret
from .store import queries as q
from .store.rehash import find_tip
from .store.reply_keys import seal_reply_key
from .store.seam import Store, is_integrity_error, is_unique_violation
from .store.stamps import Stamp, directory_stamp

BODY_FORMAT = 1
THREAD_LABEL = "phone-thread"
RECEIPT_LABEL = "receipt-lookup"
EXTERNAL_LABEL = "external-id"
DIRECTORY_TRIES = 5
"""Times a message is sealed again because an admin changed the directory meanwhile."""
REF_ATTEMPTS = 16
"""Fresh short references tried for a new tip before giving up. With N tips stored,
one try collides with probability N / 30^6 (hotline.domain.new_tip_ref): even at
ten million tips that is 1.4%, and sixteen in a row ~1e-30."""


@dataclass(frozen=True)
class InboundAttachment:
    name: str = field(repr=False)
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Inbound:
    """One message from a reporter, as any channel hands it over.

    ``repr`` never shows content: an Inbound in a traceback leaks nothing.
    """

    channel: Channel
    text: str = field(repr=False)
    lang: str | None = None
    sender: str | None = field(default=None, repr=False)  # E.164; sealed, threads SMS/voice
    tip_id: TipId | None = None  # a follow-up to a known tip (web receipt)
    receipt: ReceiptKeys | None = field(default=None, repr=False)  # a new web tip's receipt
    external_id: str | None = field(default=None, repr=False)  # a Twilio SID, stored once
    attachments: tuple[InboundAttachment, ...] = ()
    meta: Mapping[str, str] = field(default_factory=dict, repr=False)  # sealed extras
    urgency_floor: Urgency | None = None  # channel facts, e.g. "speak now" was pressed


@dataclass(frozen=True)
class IntakeResult:
    tip_id: TipId
    tip_ref: str
    message_id: MessageId
    urgency: Urgency
    new_tip: bool
    duplicate: bool
    page: bool


@dataclass(frozen=True)
class _TipTarget:
    id: TipId
    ref: str
    new: bool
    storage_key: bytes  # durable in the key store before anything is sealed under it
    keys: _NewTipKeys | None = None  # a new tip's keyed columns, made before the write


@dataclass(frozen=True)
class _NewTipKeys:
    """A new tip's keyed hashes and wrapped reply key, computed on the event loop so the
    writer thread (which every message's commit waits on) only runs the INSERT."""

    thread_hash: bytes | None = None
    receipt_lookup: bytes | None = None
    reply_sealed: bytes | None = None


StoreHook = Callable[[sqlite3.Connection, TipId, MessageId], None]
"""Extra rows written in the message's own transaction (e.g. a channel's follow-up
work), so they commit with it or not at all. Not called for a duplicate."""


def rules_channel(channel: Channel) -> str:
    """The channel name the rules know: WhatsApp messages are texts like SMS."""
    return Channel.SMS.value if channel is Channel.WHATSAPP else channel.value


class _DirectoryChanged(Exception):
    """The paging directory changed after this message was sealed; seal it again."""


class _Duplicate(Exception):
    """The message's external id was committed before: nothing of this one is stored."""

    def __init__(self, stored: IntakeResult) -> None:
        super().__init__("duplicate")
        self.stored = stored


class _ThreadRace(Exception):
    """Another message created this reporter's thread first; seal again for that tip."""


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
            except _ThreadRace:
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
                stored, message_id, parts, paged, refs, urgency = await self._seal_and_store(
                    inbound, target, directory, stamp, urgency, decision,
                    external_key, with_message, draw)
                break
            except _DirectoryChanged:  # an admin changed who is paged: seal for the new directory
                self._directories.invalidate(stamp)
        else:
            raise ServiceUnavailable("could not store the message, please try again")
        if stored is not None:  # the same external id was committed meanwhile
            return stored
        result = IntakeResult(target.id, refs[-1], message_id, urgency, target.new, False,
                              bool(paged and paged[0]))
        if result.page:
            self.page_opened()
        if self._metrics is not None:
            self._metrics.tips_received.labels(inbound.channel.value, urgency.value).inc()
        self._log.info("intake.stored", tip=target.id, channel=inbound.channel.value,
                       urgency=urgency.value, ruleset_version=decision.ruleset_version,
                       reader_version=decision.reader_version,
                       new_tip=target.new, attachments=len(parts), page=result.page)
        return result

    async def _seal_and_store(
        self, inbound: Inbound, target: _TipTarget, directory: Directory, stamp: Stamp,
        urgency: Urgency, decision: Triage,
        external_key: bytes | None, with_message: StoreHook | None, draw: Rng,
    ) -> tuple[IntakeResult | None, MessageId, list[tuple[int, bytes]], list[bool], list[str], Urgency]:
        """Seal for ``directory`` and commit, unless the directory changed since ``stamp``."""
        message_id = new_message_id(draw)
        now = self._clock()
        page_plan = self._page_plan(directory, target.ref, inbound.channel, urgency, now, message_id)
        plan = await self._recipients(target, directory, now, page_plan)
        paged_ids = ({n: directory.people[n].id for n in plan_people(page_plan)}
                     if page_plan is not None else {})
        ctx = EnvelopeContext(self._instance_id, target.id, message_id, Direction.IN.value,
                              inbound.channel.value)
        body = _body(inbound, now, urgency, decision)
        sealed = seal(ctx, body, plan.recipients, rng=draw)
        parts = [(i, encrypt_part_bytes(ctx, sealed.message_key, i, a.data))
                 for i, a in enumerate(inbound.attachments, start=1)]
        row = q.NewMessage(
            id=message_id, tip_id=target.id, direction=Direction.IN.value,
            created_at=q.utc_now_text(now), urgency=urgency.value,
            ruleset_version=decision.ruleset_version, external_key=external_key,
            envelope=wrap(target.storage_key, sealed.envelope, label=target.id, rng=draw),
            attachments=parts,
            channel=inbound.channel.value,
        )
        paged: list[bool] = []
        refs = [target.ref]  # a new tip's reference, replaced in the write if it was taken

        def store(conn: sqlite3.Connection) -> IntakeResult | None:
            if directory_stamp(conn) != stamp:  # first, before anything is written
                raise _DirectoryChanged
            return self._store(conn, inbound, target, row, plan, urgency, now, with_message,
                               page_plan, paged, paged_ids, refs)

        try:
            stored = await self._db.write(store)
        except _Duplicate as d:  # rolled back with everything the write did before it
            stored = d.stored
        return stored, message_id, parts, paged, refs, urgency

    def _page_plan(self, directory: Directory, tip_ref: str, channel: Channel, urgency: Urgency,
                   now: datetime, message_id: str) -> EscalationPlan | None:
        """The escalation this message would open (if the tip has none running), or None."""
        when = should_page(self._paging, urgency, now)
        if when is False:
            return None
        at = now if when is True else when
        assert isinstance(at, datetime)
        policy = directory.effective_policy(self._default_delay)
        plan = directory.plan(policy, tip_ref, channel.value, urgency, at, f"esc-{message_id}")
        if plan is None:
            self._log.error("page.nobody", tip_ref=tip_ref,
                            reason="no escalation level names an active advocate")
        return plan

    # -- tip resolution --------------------------------------------------------

    async def _target_tip(self, inbound: Inbound, draw: Rng) -> _TipTarget:
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
        return _TipTarget(tip_id, self._new_ref(draw), True, key, self._new_tip_keys(inbound, tip_id, key))

    def _new_tip_keys(self, inbound: Inbound, tip_id: TipId, storage_key: bytes) -> _NewTipKeys:
        if inbound.receipt is None:
            return _NewTipKeys(thread_hash=(self._secret.hash(THREAD_LABEL, inbound.sender.encode())
                                            if inbound.sender is not None else None))
        # Wrapped under the tip's key: in clear it would let a database copy test receipts.
        return _NewTipKeys(
            thread_hash=(self._secret.hash(THREAD_LABEL, inbound.sender.encode())
                         if inbound.sender is not None else None),
            receipt_lookup=self._secret.hash(RECEIPT_LABEL, inbound.receipt.lookup_id),
            reply_sealed=seal_reply_key(storage_key, tip_id, inbound.receipt.reply.box_public))

    def _new_ref(self, rng: Rng = os.urandom) -> str:
        return self._tip_refs() if self._tip_refs is not None else new_tip_ref(rng)

    async def _existing(self, tip_id: TipId, ref: str) -> _TipTarget:
        key = await self._keystore.get(tip_id)
        if key is None:
            raise NotFound("this conversation has been deleted")
        return _TipTarget(tip_id, ref, False, key)

    async def _recipients(self, target: _TipTarget, directory: Directory, now: datetime,
                          page_plan: EscalationPlan | None) -> RecipientPlan:
        """On the tip, on call now, and everyone the escalation could page (CRYPTO.md)."""
        on_tip = [] if target.new else await q.tip_advocate_keys(self._db, target.id)
        chain = directory.chain(directory.effective_policy(self._default_delay), now)
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

    # -- the write (runs on the writer thread) -----------------------------------

    def _store(self, conn: sqlite3.Connection, inbound: Inbound, target: _TipTarget,
               row: q.NewMessage, plan: RecipientPlan, urgency: Urgency,
               now: datetime, with_message: StoreHook | None = None,
               page_plan: EscalationPlan | None = None,
               paged: list[bool] | None = None,
               paged_ids: Mapping[str, int] | None = None,
               refs: list[str] | None = None) -> IntakeResult | None:
        stamp = row.created_at
        previous: tuple[str, str, object] | None = None
        if target.new:
            ref = self._insert_tip(conn, inbound, target, urgency, stamp)
            if ref != target.ref:
                if refs is not None:
                    refs.append(ref)
                if page_plan is not None:  # the page names the reference the tip really has
                    page_plan = replace(page_plan, tip_ref=TipRef(ref))
        else:
            previous = conn.execute("SELECT urgency, urgency_source, acked_at FROM tips"
                                    " WHERE id = ?", (target.id,)).fetchone()
            self._raise_tip_urgency(conn, target.id, urgency, stamp, previous)
        if q.insert_message_once(conn, row) is None:  # this external id is stored already
            raise _Duplicate(self._stored_already(conn, row.external_key))
        if not target.new:  # the reporter wrote again: their pending deletion request ends
            reporter_wrote(conn, target.id, inbound.channel.value, stamp)
        q.add_tip_advocates(conn, target.id, plan.advocate_ids)
        q.audit(conn, "intake", "message.received", target.id,
                f"channel={inbound.channel.value} urgency={urgency.value}", at=stamp)
        if with_message is not None:
            with_message(conn, target.id, MessageId(row.id))
        if page_plan is not None and paged is not None:
            before = Urgency.parse(previous[0]).rank if previous is not None else None
            # A tip inserted in this very transaction has no escalation yet: no query.
            if target.new or should_open(conn, target.id, urgency.rank, before,
                                         previous is not None and previous[2] is not None):
                open_escalation(conn, target.id, page_plan, stamp, paged_ids or {}, now)
                paged.append(True)
        return None

    def _insert_tip(self, conn: sqlite3.Connection, inbound: Inbound, target: _TipTarget,
                    urgency: Urgency, stamp: str) -> str:
        """Insert the new tip; return its short reference.

        A reference already taken (the space is small enough to read aloud, so
        birthday collisions come with volume) is replaced by a fresh one here,
        on the writer, where no other insert can take it meanwhile: a report is
        never refused because of a reference. A taken reference is skipped by
        the INSERT itself (``ON CONFLICT (ref) DO NOTHING``: no error, so no
        savepoint is needed for PostgreSQL's sake); any other conflict raises.
        """
        keys = target.keys or _NewTipKeys()
        ref = target.ref
        for _attempt in range(REF_ATTEMPTS):
            try:
                inserted = conn.execute(
                    "INSERT INTO tips (id, ref, channel, urgency, urgency_source, status,"
                    " created_at, updated_at, thread_hash, receipt_lookup, reply_sealed)"
                    " VALUES (?,?,?,?, 'rules', 'new', ?,?,?,?,?) ON CONFLICT (ref) DO NOTHING",
                    (target.id, ref, inbound.channel.value, urgency.value, stamp, stamp,
                     keys.thread_hash, keys.receipt_lookup, keys.reply_sealed),
                ).rowcount
            except Exception as e:
                if (keys.thread_hash is not None and is_integrity_error(e)
                        and is_unique_violation(e, "tips", "thread_hash")):
                    raise _ThreadRace from None
                raise
            if inserted == 1:
                return ref
            self._log.info("intake.ref_taken", tip=target.id)
            ref = self._new_ref()  # on the writer thread: its own read, not the report's draw
        raise ServiceUnavailable("could not store the message, please try again")

    @staticmethod
    def _stored_already(conn: sqlite3.Connection, external_key: bytes | None) -> IntakeResult:
        found = conn.execute(
            "SELECT m.id, m.tip_id, m.urgency, t.ref FROM messages m JOIN tips t"
            " ON t.id = m.tip_id WHERE m.external_key = ?", (external_key,)).fetchone()
        return IntakeResult(TipId(found[1]), found[3], MessageId(found[0]),
                            Urgency.parse(found[2]), False, True, False)

    @staticmethod
    def _raise_tip_urgency(conn: sqlite3.Connection, tip_id: str, urgency: Urgency,
                           stamp: str, row: tuple[str, str, object]) -> None:
        new = row[0]
        if row[1] == "rules" and urgency > Urgency.parse(row[0]):
            new = urgency.value
        conn.execute("UPDATE tips SET urgency = ?, updated_at = ? WHERE id = ?",
                     (new, stamp, tip_id))


def _body(inbound: Inbound, now: datetime, urgency: Urgency, decision: Triage) -> bytes:
    """The sealed document: content plus everything about it that is not stored in clear."""
    doc = {
        "v": BODY_FORMAT,
        "text": inbound.text,
        "sender": inbound.sender,
        "lang": inbound.lang,
        "channel": inbound.channel.value,
        "received_at": now.isoformat(),
        "attachments": [
            {"part": i, "name": a.name, "content_type": a.content_type, "size": len(a.data)}
            for i, a in enumerate(inbound.attachments, start=1)
        ],
        "triage": {**decision.to_json(), "urgency": urgency.value},
        "meta": dict(inbound.meta),
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
