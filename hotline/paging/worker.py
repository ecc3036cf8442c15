"""The page worker: moves escalations forward and delivers the outbox, durably.

One loop per running service. Each turn it (1) hands out every escalation step
that is due — the step's pages enter ``page_outbox`` under their idempotency
keys in the same commit that moves the escalation's cursor — and (2) claims and
starts a delivery for every pending page whose attempt is due. Deliveries run as their
own tasks, so a slow mail server never holds up a critical SMS. The loop
sleeps until the earliest due time or until intake or an acknowledgement wakes
it; everything it needs to resume after a restart or ``kill -9`` is in the
database.

Before delivery, pages coalesce per person and window
(:mod:`hotline.paging.coalesce`): the first page to a person goes out at once,
later ones within ``paging.coalesce_window`` are held and go out together as
one summary page when the window closes.

Several front ends may run this worker on one database. Each page and
summary is claimed with a lease (:mod:`hotline.paging.claims`) in one writer
job before it is sent, so two live workers never send the same row; the
outcome is written only by the lease holder; a dead worker's claims are taken
over once ``cluster.lease`` has passed. While a notifier is at work the
worker renews its lease every third of it, so a live holder never loses its
claim to a slow notifier (each notifier has its own timeout).

Delivery is at-least-once in exactly one window: a notification accepted by
Twilio/SMTP/the webhook just before its front end died, and not yet recorded,
is sent again by the next holder after the lease, with the same idempotency
key (webhook ``Idempotency-Key``, e-mail ``Message-ID``); the row's
``sending_since`` says so in the log (``page.taken_over``). Every other path
sends each step to each person once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from ..front_end import front_end_id
from ..logging import get_logger
from ..ops.metrics import Metrics
from ..store import queries as q
from ..store.leases import PAGING, dialect, holding, try_exclusive
from ..store.seam import Store
from .claims import (
    OUTBOX,
    SUMMARIES,
    Claimed,
    cancel_summary,
    claim_due,
    mark_sending,
    record_given_up,
    record_retry,
    record_sent,
    renew,
)
from .coalesce import Folded, coalesce
from .directory import Directory, load_directory
from .escalation import Page, due_at, mark_sent, next_actions, plan_from_dict
from .notifiers import DeliveryFailed, Notice, Notifier, PageNotice, SummaryNotice
from .store import load_escalation, record_step

MAX_SLEEP = 30.0  # look again at least this often (an admin's clock change, a missed wake-up)
MAX_PARALLEL = 32
DEFAULT_LEASE = 60.0
_WAKE = "CASE WHEN lease_until > next_attempt THEN lease_until ELSE next_attempt END"


class PageWorker:
    def __init__(self, *, db: Store, notifiers: Mapping[str, Notifier], backoff: tuple[float, ...],
                 metrics: Metrics | None = None, coalesce_window: float = 0.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 lease: float = DEFAULT_LEASE, owner: str | None = None) -> None:
        self._db, self._notifiers, self._backoff = db, notifiers, backoff
        self._window = coalesce_window
        self._metrics, self._clock = metrics, clock
        self._lease = lease
        self._owner = owner or front_end_id()  # tests run two workers in one process
        self._kind = dialect(db)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[tuple[str, int], asyncio.Task[bool]] = {}
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

    async def drain(self) -> None:
        """Wait until the deliveries already started have ended (their outcomes written)."""
        while self._inflight:
            await asyncio.gather(*self._inflight.values(), return_exceptions=True)

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
            if not try_exclusive(conn, self._kind, PAGING):  # another front end is at it
                return 0
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

        def fold(conn: sqlite3.Connection) -> Folded:
            if not try_exclusive(conn, self._kind, PAGING):  # another front end is at it
                return Folded(0, 0, 0)
            return coalesce(conn, at, self._window, stamp)

        folded = await self._db.write(fold)
        if folded.direct or folded.held or folded.summaries:
            self._log.info("page.coalesced", pending=folded.held, batch=folded.summaries,
                           count=folded.direct)

    # -- delivery --------------------------------------------------------------------

    async def _deliver_due(self, directory: Directory, now: datetime) -> float:
        at = now.timestamp()
        free = MAX_PARALLEL - len(self._inflight)
        claimed = await self._db.write(lambda conn: claim_due(
            conn, self._kind, owner=self._owner, now=at, lease=self._lease, limit=free))
        for c in claimed:
            ident = (c.table, c.id)
            if c.maybe_sent:
                self._log.warning("page.taken_over", outbox=c.id, maybe_sent=True,
                                  page="summary" if c.table == SUMMARIES else "single",
                                  reason="its previous front end vanished while sending it")
            task = asyncio.create_task(self._deliver(directory, c))
            self._inflight[ident] = task
            task.add_done_callback(functools.partial(self._done, ident))
        # The next time anything is due: a retry, a held page's window, an escalation step,
        # or the end of another front end's lease on a due row (then it may be taken over).
        nxt = await self._db.fetchone(
            f"SELECT (SELECT MIN({_WAKE}) FROM page_outbox WHERE status = 'pending'"  # noqa: S608
            f" AND {_WAKE} > ?), (SELECT MIN({_WAKE}) FROM page_summaries WHERE"
            f" status = 'pending' AND {_WAKE} > ?),"
            " (SELECT MIN(next_due) FROM escalations WHERE status = 'open')", (at, at))
        wait = MAX_SLEEP
        for due in nxt or ():
            if due is not None:
                wait = min(wait, due - at)
        if len(claimed) >= free:  # more may be due than there were free slots
            wait = min(wait, 1.0)
        return max(0.0, wait)

    def _done(self, ident: tuple[str, int], _task: object = None) -> None:
        """A delivery ended. Only one that left work behind (a retry, a fallback) wakes the loop:
        under load, a turn per sent page would cost four reads each."""
        task = self._inflight.pop(ident, None)
        if task is not None and not task.cancelled() and task.exception() is None and task.result():
            self._wake.set()

    async def _deliver(self, directory: Directory, c: Claimed) -> bool:
        """Deliver one claimed page or summary; True if it is still pending (a retry or the
        next notifier)."""
        async with self._slots:
            if c.table == OUTBOX:
                assert c.plan is not None
                plan = plan_from_dict(json.loads(c.plan))
                page = Page(plan.tip_ref, plan.channel, plan.urgency, plan.started_at, c.level)
                return await self._deliver_one(directory, c, PageNotice(page, c.code, c.id, c.key))
            notice = await self._summary_notice(c)
            if notice is None:  # every tip in it was acknowledged while it waited
                await self._db.write(lambda conn: cancel_summary(conn, c, owner=self._owner))
                return False
            return await self._deliver_one(directory, c, notice)

    async def _summary_notice(self, c: Claimed) -> SummaryNotice | None:
        pages = await self._db.fetchall(
            "SELECT o.level, e.plan FROM page_outbox o JOIN escalations e ON e.id = o.escalation_id"
            " WHERE o.summary_id = ? AND o.status = 'pending' ORDER BY o.id", (c.id,))
        if not pages:
            return None
        built = []
        for p in pages:
            plan = plan_from_dict(json.loads(p["plan"]))
            built.append(Page(plan.tip_ref, plan.channel, plan.urgency, plan.started_at, p["level"]))
        built.sort(key=lambda p: (-p.urgency.rank, p.opened_at))
        return SummaryNotice(tuple(built), c.code, c.id, c.key)

    async def _deliver_one(self, directory: Directory, c: Claimed, notice: Notice) -> bool:
        person = directory.by_id.get(c.advocate_id)
        chain = person.chain() if person is not None else ()
        if c.notifier_index >= len(chain):
            await self._give_up(c, "no notifier left" if person else "advocate removed")
            return False
        kind, target = chain[c.notifier_index]
        notifier = self._notifiers.get(kind)
        now = self._clock().timestamp()
        if not await self._db.write(lambda conn: mark_sending(
                conn, c, owner=self._owner, now=now, lease=self._lease)):
            self._log.info("page.not_sent", outbox=c.id, reason="acknowledged or taken over")
            return False
        try:
            if notifier is None:
                raise DeliveryFailed(f"no {kind} notifier", permanent=True)
            await holding(notifier.send(notice, target), lambda: self._db.write(
                lambda conn: renew(conn, c, owner=self._owner,
                                   until=self._clock().timestamp() + self._lease)),
                self._lease / 3)
        except DeliveryFailed as failure:
            return await self._failed(c, kind, failure, len(chain))
        except Exception:  # a notifier bug is a failed attempt, never a lost page
            self._log.error("page.notifier_crashed", notifier=kind, exc_info=True)
            return await self._failed(c, kind, DeliveryFailed("internal error"), len(chain))
        stamp = q.utc_now_text(self._clock())
        kept = await self._db.write(lambda conn: record_sent(conn, c, owner=self._owner, via=kind,
                                                            stamp=stamp))
        if self._metrics is not None:
            self._metrics.pages_sent.labels(kind).inc()
        if not kept:
            self._log.warning("page.lease_lost", outbox=c.id, notifier=kind,
                              reason="another front end took the page over; its outcome stands")
        elif c.table == SUMMARIES:
            self._log.info("page.summary_sent", page=c.id, notifier=kind, attempts=c.attempt + 1,
                           count=len(notice.pages) if isinstance(notice, SummaryNotice) else 1)
        else:
            self._log.info("page.sent", outbox=c.id, notifier=kind, level=c.level,
                           attempts=c.attempt + 1)
        return False

    async def _failed(self, c: Claimed, kind: str, failure: DeliveryFailed,
                      chain_length: int) -> bool:
        if self._metrics is not None:
            self._metrics.pages_failed.labels(kind).inc()
        now = time.time()
        index, attempt = c.notifier_index, c.attempt
        if failure.permanent or attempt >= len(self._backoff):
            index, attempt, at = index + 1, 0, now  # fall back to the next notifier at once
        else:
            at, attempt = now + self._backoff[attempt], attempt + 1
        self._log.warning("page.attempt_failed", outbox=c.id, notifier=kind,
                          reason=failure.reason, attempts=c.attempt + 1,
                          stage="fallback" if index != c.notifier_index else "retry",
                          page="summary" if c.table == SUMMARIES else "single")
        if index >= chain_length:
            await self._give_up(c, failure.reason)
            return False
        return bool(await self._db.write(lambda conn: record_retry(
            conn, c, owner=self._owner, notifier_index=index, attempt=attempt, at=at,
            error=f"{kind}: {failure.reason}")))

    async def _give_up(self, c: Claimed, reason: str) -> None:
        stamp = q.utc_now_text()
        if await self._db.write(lambda conn: record_given_up(conn, c, owner=self._owner,
                                                             reason=reason, stamp=stamp)):
            self._log.error("page.failed", outbox=c.id, reason=reason,
                            page="summary" if c.table == SUMMARIES else "single")
