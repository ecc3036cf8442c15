"""A report's write: what runs on the writer thread, inside the message's transaction.

Split out of ``hotline/intake.py``. Everything the write needs was computed on
the event loop before it (sealing, wrapping, keyed hashes, the page plan), so
the writer thread, which every commit waits on, only checks and inserts: each
statement here is a GIL hand-off the event loop pays for, so there are as few
as the guarantees allow. Nothing here sees plaintext.

What can end a write early, each rolling back everything it wrote:
``DirectoryChanged`` (the paging directory moved since the message was
sealed: seal it again), ``ThreadRace`` (another message made this reporter's
thread first: seal it for that tip) and ``Duplicate`` (the external id is
stored already: the caller answers with the stored message).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from .deletion import reporter_wrote
from .domain import Channel, MessageId, TipId, Urgency
from .errors import ServiceUnavailable
from .intake_model import IntakeResult, StoreHook
from .logging import get_logger
from .paging.escalation import EscalationPlan, TipRef
from .paging.store import open_escalation, should_open
from .store import queries as q
from .store.seam import is_integrity_error, is_unique_violation
from .store.stamps import Stamp, directory_stamp_later

REF_ATTEMPTS = 16
"""Fresh short references tried for a new tip before giving up. With N tips stored,
one try collides with probability N / 30^6 (hotline.domain.new_tip_ref): even at
ten million tips that is 1.4%, and sixteen in a row ~1e-30."""

_log = get_logger("hotline.intake")


@dataclass(frozen=True)
class NewTipKeys:
    """A new tip's keyed hashes and wrapped reply key, computed on the event loop so the
    writer thread (which every message's commit waits on) only runs the INSERT."""

    thread_hash: bytes | None = None
    receipt_lookup: bytes | None = None
    reply_sealed: bytes | None = None


@dataclass(frozen=True)
class TipTarget:
    id: TipId
    ref: str
    new: bool
    storage_key: bytes  # durable in the key store before anything is sealed under it
    keys: NewTipKeys | None = None  # a new tip's keyed columns, made before the write


class DirectoryChanged(Exception):
    """The paging directory changed after this message was sealed; seal it again."""


class ThreadRace(Exception):
    """Another message created this reporter's thread first; seal again for that tip."""


class Duplicate(Exception):
    """The message's external id was committed before: nothing of this one is stored."""

    def __init__(self, stored: IntakeResult) -> None:
        super().__init__("duplicate")
        self.stored = stored


@dataclass(frozen=True)
class MessageWrite:
    """Everything one report's write needs, made on the event loop."""

    channel: Channel
    target: TipTarget
    row: q.NewMessage
    advocate_ids: tuple[int, ...]
    urgency: Urgency
    now: datetime
    stamp: Stamp  # the directory's, as the message was sealed for it
    with_message: StoreHook | None = None
    page_plan: EscalationPlan | None = None
    paged_ids: Mapping[str, int] | None = None
    new_ref: Callable[[], str] | None = None  # a fresh reference if the drawn one is taken


def write_message(conn: sqlite3.Connection, w: MessageWrite) -> tuple[str, bool]:
    """Store the report in the current transaction; return (the tip's reference, paged?).

    Raises ``DirectoryChanged``, ``ThreadRace`` or ``Duplicate`` (module docstring)."""
    # First (on PostgreSQL its answer is looked at after the next statement that waits).
    directory_now = directory_stamp_later(conn)
    target, urgency, stamp = w.target, w.urgency, w.row.created_at
    page_plan, ref = w.page_plan, target.ref
    previous: tuple[str, str, object] | None = None
    if target.new:
        ref = _insert_tip(conn, w)
    else:
        previous = conn.execute("SELECT urgency, urgency_source, acked_at FROM tips"
                                " WHERE id = ?", (target.id,)).fetchone()
    if directory_now() != w.stamp:  # the job's rows so far are taken back with it
        raise DirectoryChanged
    if previous is not None:
        _raise_tip_urgency(conn, target.id, urgency, stamp, previous)
    if ref != target.ref and page_plan is not None:  # the page names the tip's real reference
        page_plan = replace(page_plan, tip_ref=TipRef(ref))
    if q.insert_message_once(conn, w.row) is None:  # this external id is stored already
        raise Duplicate(_stored_already(conn, w.row.external_key))
    if not target.new:  # the reporter wrote again: their pending deletion request ends
        reporter_wrote(conn, target.id, w.channel.value, stamp)
    q.add_tip_advocates(conn, target.id, w.advocate_ids)  # type: ignore[arg-type]
    q.audit(conn, "intake", "message.received", target.id,
            f"channel={w.channel.value} urgency={urgency.value}", at=stamp)
    if w.with_message is not None:
        w.with_message(conn, target.id, MessageId(w.row.id))
    if page_plan is None:
        return ref, False
    before = Urgency.parse(previous[0]).rank if previous is not None else None
    # A tip inserted in this very transaction has no escalation yet: no query.
    if target.new or should_open(conn, target.id, urgency.rank, before,
                                 previous is not None and previous[2] is not None):
        open_escalation(conn, target.id, page_plan, stamp, w.paged_ids or {}, w.now)
        return ref, True
    return ref, False


def _insert_tip(conn: sqlite3.Connection, w: MessageWrite) -> str:
    """Insert the new tip; return its short reference.

    A reference already taken (the space is small enough to read aloud, so
    birthday collisions come with volume) is replaced by a fresh one here,
    on the writer, where no other insert can take it meanwhile: a report is
    never refused because of a reference. A taken reference is skipped by
    the INSERT itself (``ON CONFLICT (ref) DO NOTHING``: no error). Another
    conflict (the reporter's number, raced by a second first message) raises;
    the writer takes back this job alone (its savepoint; on PostgreSQL the
    error would otherwise abort the batch's whole transaction).
    """
    target, stamp = w.target, w.row.created_at
    keys = target.keys or NewTipKeys()
    ref = target.ref
    for _attempt in range(REF_ATTEMPTS):
        try:
            inserted = conn.execute(
                "INSERT INTO tips (id, ref, channel, urgency, urgency_source, status,"
                " created_at, updated_at, thread_hash, receipt_lookup, reply_sealed)"
                " VALUES (?,?,?,?, 'rules', 'new', ?,?,?,?,?) ON CONFLICT (ref) DO NOTHING",
                (target.id, ref, w.channel.value, w.urgency.value, stamp, stamp,
                 keys.thread_hash, keys.receipt_lookup, keys.reply_sealed),
            ).rowcount
        except Exception as e:
            if (keys.thread_hash is not None and is_integrity_error(e)
                    and is_unique_violation(e, "tips", "thread_hash")):
                raise ThreadRace from None
            raise
        if inserted == 1:
            return ref
        _log.info("intake.ref_taken", tip=target.id)
        if w.new_ref is None:
            break
        ref = w.new_ref()  # on the writer thread: its own read, not the report's draw
    raise ServiceUnavailable("could not store the message, please try again")


def _stored_already(conn: sqlite3.Connection, external_key: bytes | None) -> IntakeResult:
    found = conn.execute(
        "SELECT m.id, m.tip_id, m.urgency, t.ref FROM messages m JOIN tips t"
        " ON t.id = m.tip_id WHERE m.external_key = ?", (external_key,)).fetchone()
    return IntakeResult(TipId(found[1]), found[3], MessageId(found[0]),
                        Urgency.parse(found[2]), False, True, False)


def _raise_tip_urgency(conn: sqlite3.Connection, tip_id: str, urgency: Urgency, stamp: str,
                       row: tuple[str, str, object]) -> None:
    """A follow-up raises its tip's urgency when the rules set it (an advocate's choice stays)."""
    new = row[0]
    if row[1] == "rules" and urgency > Urgency.parse(row[0]):
        new = urgency.value
    conn.execute("UPDATE tips SET urgency = ?, updated_at = ? WHERE id = ?",
                 (new, stamp, tip_id))
