"""The page worker: moves escalations forward and delivers the outbox, durably.

One loop per running service. Each turn it (1) hands out every escalation step
that is due — the step's pages enter ``page_outbox`` under their idempotency
keys in the same commit that moves the escalation's cursor — and (2) starts a
delivery for every pending page whose attempt is due. Deliveries run as their
own tasks, so a slow mail server never holds up a critical SMS. The loop
sleeps until the earliest due time or until intake or an acknowledgement wakes
it; everything it needs to resume after a restart or ``kill -9`` is in the
database.

Before delivery, pages coalesce per person and window
(:mod:`hotline.paging.coalesce`): the first page to a person goes out at once,
later ones within ``paging.coalesce_window`` are held and go out together as
one summary page when the window closes.

Delivery is at-least-once in exactly one window: a notification accepted by
Twilio/SMTP/the webhook just before a crash, and not yet recorded, is sent
again after the restart, with the same idempotency key (webhook
``Idempotency-Key``, e-mail ``Message-ID``). Every other path sends each step
to each person once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ..logging import get_logger
from ..ops.metrics import Metrics
from ..store import queries as q
from ..store.seam import Store
from .coalesce import coalesce
from .directory import Directory, load_directory
from .escalation import Page, due_at, mark_sent, next_actions, plan_from_dict
from .notifiers import DeliveryFailed, Notice, Notifier, PageNotice, SummaryNotice
from .store import load_escalation, record_step

MAX_SLEEP = 30.0  # look again at least this often (an admin's clock change, a missed wake-up)
MAX_PARALLEL = 32
OUTBOX, SUMMARIES = "page_outbox", "page_summaries"


@dataclass(frozen=True)
class _Delivery:
    """One notification to one person: a page (an outbox row) or a summary page.

    ``table`` is one of the two constants above and nothing else; it is the only
    name formatted into SQL here (hence the ``noqa: S608`` below)."""

    table: str  # OUTBOX or SUMMARIES
    id: int
    advocate_id: int
    notifier_index: int
    attempt: int
    level: int  # 0 for a summary


def _delivery(table: str, row: sqlite3.Row) -> _Delivery:
    return _Delivery(table, row["id"], row["advocate_id"], row["notifier_index"], row["attempt"],
                     row["level"] if table == OUTBOX else 0)


class PageWorker:
    def __init__(self, *, db: Store, notifiers: Mapping[str, Notifier], backoff: tuple[float, ...],
                 metrics: Metrics | None = None, coalesce_window: float = 0.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._db, self._notifiers, self._backoff = db, notifiers, backoff
        self._window = coalesce_window
        self._metrics, self._clock = metrics, clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[tuple[str, int], asyncio.Task[bool]] = {}
        # Deliveries that ended while this turn read the due rows: the read may predate
        # their commit ('sent'), so the row still looks pending; it must not go out again.
        self._ended_during_read: set[tuple[str, int]] = set()
        self._slots = asyncio.Semaphore(MAX_PARALLEL)
        self._log = get_logger("hotline.paging")

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="page-worker")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._inflight.values()) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                wait = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad row must not stop paging for everyone else
                self._log.error("paging.worker_failed", exc_info=True)
                wait = 1.0
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(wait, MAX_SLEEP)):
                    await self._wake.wait()

    async def run_once(self) -> float:
        """One turn; returns seconds until something is due."""
        now = self._clock()
        directory = await load_directory(self._db)
        await self._advance(directory, now)
        await self._coalesce(now)
        return await self._deliver_due(directory, now)

    # -- escalation steps ----------------------------------------------------------

    async def _advance(self, directory: Directory, now: datetime) -> None:
        rows = await self._db.fetchall(
            "SELECT id, plan, cursor FROM escalations WHERE status = 'open' AND next_due <= ?",
            (now.timestamp(),))
        if not rows:
            return
        steps = []
        for row in rows:
            plan, state = load_escalation((row["plan"], row["cursor"]))
            actions = next_actions(plan, state, now)
            after = mark_sent(plan, state, actions)
            if after.cursor == state.cursor:  # nothing due after all (clock moved back)
                continue
            due = due_at(plan, after)
            people = []
            for action in actions:
                person = directory.people.get(action.person)
                if person is None:
                    self._log.error("page.person_gone", escalation=row["id"], level=action.level,
                                    reason="advocate removed or renamed since the page opened")
                    continue
                people.append((action, person.id))
            steps.append((row["id"], people, after.cursor, due.timestamp() if due else None))
        stamp = q.utc_now_text(now)

        def store(conn: sqlite3.Connection) -> int:
            return sum(record_step(conn, eid, people, cursor, due, now, stamp)
                       for eid, people, cursor, due in steps)

        added = await self._db.write(store)
        if added:
            self._log.info("page.step", count=added)

    # -- coalescing ------------------------------------------------------------------

    async def _coalesce(self, now: datetime) -> None:
        """Fold new pages into their person's window; turn due windows into summaries."""
        at = now.timestamp()
        todo = await self._db.fetchone(
            "SELECT EXISTS (SELECT 1 FROM page_outbox WHERE fold IS NULL AND status = 'pending'),"
            " EXISTS (SELECT 1 FROM page_outbox WHERE status = 'pending' AND fold = 'held'"
            " AND summary_id IS NULL AND next_attempt <= ?)", (at,))
        if todo is None or not (todo[0] or todo[1]):
            return
        stamp = q.utc_now_text(now)

        folded = await self._db.write(lambda conn: coalesce(conn, at, self._window, stamp))
        if folded.direct or folded.held or folded.summaries:
            self._log.info("page.coalesced", pending=folded.held, batch=folded.summaries,
                           count=folded.direct)

    # -- delivery --------------------------------------------------------------------

    async def _deliver_due(self, directory: Directory, now: datetime) -> float:
        at = now.timestamp()
        self._ended_during_read = set()
        pages = await self._db.fetchall(
            "SELECT o.id, o.key, o.advocate_id, o.level, o.notifier_index, o.attempt, e.plan, e.code"
            " FROM page_outbox o JOIN escalations e ON e.id = o.escalation_id"
            " WHERE o.status = 'pending' AND o.next_attempt <= ? AND o.fold = 'direct'", (at,))
        summaries = await self._db.fetchall(
            "SELECT id, key, advocate_id, code, notifier_index, attempt FROM page_summaries"
            " WHERE status = 'pending' AND next_attempt <= ?", (at,))
        for table, rows in ((OUTBOX, pages), (SUMMARIES, summaries)):
            for row in rows:
                ident = (table, int(row["id"]))
                if ident in self._inflight or ident in self._ended_during_read:
                    continue
                task = asyncio.create_task(self._deliver(directory, table, row))
                self._inflight[ident] = task
                task.add_done_callback(functools.partial(self._done, ident))
        nxt = await self._db.fetchone(
            "SELECT (SELECT MIN(next_attempt) FROM page_outbox WHERE status = 'pending'"
            " AND next_attempt > ?), (SELECT MIN(next_attempt) FROM page_summaries"
            " WHERE status = 'pending' AND next_attempt > ?),"
            " (SELECT MIN(next_due) FROM escalations WHERE status = 'open')", (at, at))
        wait = MAX_SLEEP
        for due in nxt or ():
            if due is not None:
                wait = min(wait, due - at)
        return max(0.0, wait)

    def _done(self, ident: tuple[str, int], _task: object = None) -> None:
        """A delivery ended. Only one that left work behind (a retry, a fallback) wakes the loop:
        under load, a turn per sent page would cost four reads each."""
        task = self._inflight.pop(ident, None)
        self._ended_during_read.add(ident)
        if task is not None and not task.cancelled() and task.exception() is None and task.result():
            self._wake.set()

    async def _deliver(self, directory: Directory, table: str, row: sqlite3.Row) -> bool:
        """Deliver one page or summary; True if it is still pending (a retry or the next notifier)."""
        async with self._slots:
            if table == OUTBOX:
                plan, _ = load_escalation((row["plan"], 0))
                page = Page(plan.tip_ref, plan.channel, plan.urgency, plan.started_at, row["level"])
                return await self._deliver_one(directory, _delivery(OUTBOX, row),
                                               PageNotice(page, row["code"], row["id"], row["key"]))
            notice = await self._summary_notice(row)
            if notice is None:  # every tip in it was acknowledged while it waited
                await self._db.write(lambda conn: conn.execute(
                    "UPDATE page_summaries SET status = 'cancelled' WHERE id = ? AND status = 'pending'",
                    (row["id"],)))
                return False
            return await self._deliver_one(directory, _delivery(SUMMARIES, row), notice)

    async def _summary_notice(self, row: sqlite3.Row) -> SummaryNotice | None:
        pages = await self._db.fetchall(
            "SELECT o.level, e.plan FROM page_outbox o JOIN escalations e ON e.id = o.escalation_id"
            " WHERE o.summary_id = ? AND o.status = 'pending' ORDER BY o.id", (row["id"],))
        if not pages:
            return None
        built = []
        for p in pages:
            plan = plan_from_dict(json.loads(p["plan"]))
            built.append(Page(plan.tip_ref, plan.channel, plan.urgency, plan.started_at, p["level"]))
        built.sort(key=lambda p: (-p.urgency.rank, p.opened_at))
        return SummaryNotice(tuple(built), row["code"], row["id"], row["key"])

    async def _deliver_one(self, directory: Directory, d: _Delivery, notice: Notice) -> bool:
        person = directory.by_id.get(d.advocate_id)
        chain = person.chain() if person is not None else ()
        if d.notifier_index >= len(chain):
            await self._give_up(d, "no notifier left" if person else "advocate removed")
            return False
        kind, target = chain[d.notifier_index]
        notifier = self._notifiers.get(kind)
        try:
            if notifier is None:
                raise DeliveryFailed(f"no {kind} notifier", permanent=True)
            await notifier.send(notice, target)
        except DeliveryFailed as failure:
            return await self._failed(d, kind, failure, len(chain))
        except Exception:  # a notifier bug is a failed attempt, never a lost page
            self._log.error("page.notifier_crashed", notifier=kind, exc_info=True)
            return await self._failed(d, kind, DeliveryFailed("internal error"), len(chain))
        stamp = q.utc_now_text(self._clock())

        def store(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"UPDATE {d.table} SET status = CASE status WHEN 'pending' THEN 'sent' ELSE status END,"  # noqa: S608
                " sent_via = ?, sent_at = ?, last_error = NULL WHERE id = ?", (kind, stamp, d.id))
            if d.table == SUMMARIES:  # every page it carried went out with it
                conn.execute("UPDATE page_outbox SET status = 'sent', sent_via = ?, sent_at = ?,"
                             " last_error = NULL WHERE summary_id = ? AND status = 'pending'",
                             (kind, stamp, d.id))

        await self._db.write(store)
        if self._metrics is not None:
            self._metrics.pages_sent.labels(kind).inc()
        if d.table == SUMMARIES:
            self._log.info("page.summary_sent", page=d.id, notifier=kind, attempts=d.attempt + 1,
                           count=len(notice.pages) if isinstance(notice, SummaryNotice) else 1)
        else:
            self._log.info("page.sent", outbox=d.id, notifier=kind, level=d.level,
                           attempts=d.attempt + 1)
        return False

    async def _failed(self, d: _Delivery, kind: str, failure: DeliveryFailed,
                      chain_length: int) -> bool:
        if self._metrics is not None:
            self._metrics.pages_failed.labels(kind).inc()
        now = time.time()
        index, attempt = d.notifier_index, d.attempt
        if failure.permanent or attempt >= len(self._backoff):
            index, attempt, at = index + 1, 0, now  # fall back to the next notifier at once
        else:
            at, attempt = now + self._backoff[attempt], attempt + 1
        self._log.warning("page.attempt_failed", outbox=d.id, notifier=kind,
                          reason=failure.reason, attempts=d.attempt + 1,
                          stage="fallback" if index != d.notifier_index else "retry",
                          page="summary" if d.table == SUMMARIES else "single")
        if index >= chain_length:
            await self._give_up(d, failure.reason)
            return False
        await self._db.write(lambda conn: conn.execute(
            f"UPDATE {d.table} SET notifier_index = ?, attempt = ?, next_attempt = ?,"  # noqa: S608
            " last_error = ? WHERE id = ? AND status = 'pending'",
            (index, attempt, at, f"{kind}: {failure.reason}", d.id)))
        return True

    async def _give_up(self, d: _Delivery, reason: str) -> None:
        self._log.error("page.failed", outbox=d.id, reason=reason,
                        page="summary" if d.table == SUMMARIES else "single")
        stamp = q.utc_now_text()

        def store(conn: sqlite3.Connection) -> None:
            conn.execute(f"UPDATE {d.table} SET status = 'failed', last_error = ? WHERE id = ?"  # noqa: S608
                         " AND status = 'pending'", (reason, d.id))
            which = "o.summary_id" if d.table == SUMMARIES else "o.id"
            conn.execute("INSERT INTO audit (at, actor, action, tip_id, detail) SELECT ?, 'paging',"  # noqa: S608
                         " 'page.failed', e.tip_id, ? FROM page_outbox o JOIN escalations e"
                         f" ON e.id = o.escalation_id WHERE {which} = ? AND o.status = 'pending'",
                         (stamp, f"reason={reason}", d.id))
            if d.table == SUMMARIES:
                conn.execute("UPDATE page_outbox SET status = 'failed', last_error = ?"
                             " WHERE summary_id = ? AND status = 'pending'", (reason, d.id))

        await self._db.write(store)
