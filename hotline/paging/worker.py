"""The page worker: moves escalations forward and delivers the outbox, durably.

One loop per running service. Each turn it (1) hands out every escalation step
that is due — the step's pages enter ``page_outbox`` under their idempotency
keys in the same commit that moves the escalation's cursor — and (2) starts a
delivery for every pending page whose attempt is due. Deliveries run as their
own tasks, so a slow mail server never holds up a critical SMS. The loop
sleeps until the earliest due time or until intake or an acknowledgement wakes
it; everything it needs to resume after a restart or ``kill -9`` is in the
database.

Delivery is at-least-once in exactly one window: a notification accepted by
Twilio/SMTP/the webhook just before a crash, and not yet recorded, is sent
again after the restart, with the same idempotency key (webhook
``Idempotency-Key``, e-mail ``Message-ID``). Every other path sends each step
to each person once.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from ..logging import get_logger
from ..ops.metrics import Metrics
from ..store import Database
from ..store import queries as q
from .directory import Directory, load_directory
from .escalation import Page, due_at, mark_sent, next_actions
from .notifiers import DeliveryFailed, Notifier, PageNotice
from .store import load_escalation, record_step

MAX_SLEEP = 30.0  # look again at least this often (an admin's clock change, a missed wake-up)
MAX_PARALLEL = 32


class PageWorker:
    def __init__(self, *, db: Database, notifiers: Mapping[str, Notifier], backoff: tuple[float, ...],
                 metrics: Metrics | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._db, self._notifiers, self._backoff = db, notifiers, backoff
        self._metrics, self._clock = metrics, clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[int, asyncio.Task[bool]] = {}
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

    # -- delivery --------------------------------------------------------------------

    async def _deliver_due(self, directory: Directory, now: datetime) -> float:
        rows = await self._db.fetchall(
            "SELECT o.id, o.key, o.advocate_id, o.level, o.notifier_index, o.attempt,"
            " o.next_attempt, e.plan, e.code FROM page_outbox o JOIN escalations e"
            " ON e.id = o.escalation_id WHERE o.status = 'pending'")
        wait = MAX_SLEEP
        for row in rows:
            if row["id"] in self._inflight:
                continue
            delay = row["next_attempt"] - now.timestamp()
            if delay > 0:
                wait = min(wait, delay)
                continue
            task = asyncio.create_task(self._deliver(directory, row))
            self._inflight[row["id"]] = task
            task.add_done_callback(lambda _t, i=row["id"]: self._done(i))
        nxt = await self._db.fetchone(
            "SELECT MIN(next_due) FROM escalations WHERE status = 'open'")
        if nxt is not None and nxt[0] is not None:
            wait = min(wait, nxt[0] - now.timestamp())
        return max(0.0, wait)

    def _done(self, outbox_id: int) -> None:
        """A delivery ended. Only one that left work behind (a retry, a fallback) wakes the loop:
        under load, a turn per sent page would cost four reads each."""
        task = self._inflight.pop(outbox_id, None)
        if task is not None and not task.cancelled() and task.exception() is None and task.result():
            self._wake.set()

    async def _deliver(self, directory: Directory, row: sqlite3.Row) -> bool:
        """Deliver one page; True if it is still pending (a retry or the next notifier is due)."""
        async with self._slots:
            return await self._deliver_one(directory, row)

    async def _deliver_one(self, directory: Directory, row: sqlite3.Row) -> bool:
        outbox_id, index, attempt = row["id"], row["notifier_index"], row["attempt"]
        person = directory.by_id.get(row["advocate_id"])
        chain = person.chain() if person is not None else ()
        if index >= len(chain):
            await self._give_up(outbox_id, "no notifier left" if person else "advocate removed")
            return False
        kind, target = chain[index]
        plan, _ = load_escalation((row["plan"], 0))
        page = Page(plan.tip_ref, plan.channel, plan.urgency, plan.started_at, row["level"])
        notice = PageNotice(page, row["code"], outbox_id, row["key"])
        notifier = self._notifiers.get(kind)
        try:
            if notifier is None:
                raise DeliveryFailed(f"no {kind} notifier", permanent=True)
            await notifier.send(notice, target)
        except DeliveryFailed as failure:
            return await self._failed(row, kind, failure, len(chain))
        except Exception:  # a notifier bug is a failed attempt, never a lost page
            self._log.error("page.notifier_crashed", notifier=kind, exc_info=True)
            return await self._failed(row, kind, DeliveryFailed("internal error"), len(chain))
        now = self._clock()
        await self._db.write(lambda conn: conn.execute(
            "UPDATE page_outbox SET status = CASE status WHEN 'pending' THEN 'sent' ELSE status END,"
            " sent_via = ?, sent_at = ?, last_error = NULL WHERE id = ?",
            (kind, q.utc_now_text(now), outbox_id)))
        if self._metrics is not None:
            self._metrics.pages_sent.labels(kind).inc()
        self._log.info("page.sent", outbox=outbox_id, notifier=kind, level=row["level"],
                       attempts=attempt + 1)
        return False

    async def _failed(self, row: sqlite3.Row, kind: str, failure: DeliveryFailed,
                      chain_length: int) -> bool:
        if self._metrics is not None:
            self._metrics.pages_failed.labels(kind).inc()
        now = time.time()
        index, attempt = row["notifier_index"], row["attempt"]
        if failure.permanent or attempt >= len(self._backoff):
            index, attempt, at = index + 1, 0, now  # fall back to the next notifier at once
        else:
            at, attempt = now + self._backoff[attempt], attempt + 1
        self._log.warning("page.attempt_failed", outbox=row["id"], notifier=kind,
                          reason=failure.reason, attempts=row["attempt"] + 1,
                          stage="fallback" if index != row["notifier_index"] else "retry")
        if index >= chain_length:
            await self._give_up(row["id"], failure.reason)
            return False
        await self._db.write(lambda conn: conn.execute(
            "UPDATE page_outbox SET notifier_index = ?, attempt = ?, next_attempt = ?,"
            " last_error = ? WHERE id = ? AND status = 'pending'",
            (index, attempt, at, f"{kind}: {failure.reason}", row["id"])))
        return True

    async def _give_up(self, outbox_id: int, reason: str) -> None:
        self._log.error("page.failed", outbox=outbox_id, reason=reason)

        def store(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE page_outbox SET status = 'failed', last_error = ? WHERE id = ?"
                         " AND status = 'pending'", (reason, outbox_id))
            conn.execute("INSERT INTO audit (at, actor, action, tip_id, detail) SELECT ?, 'paging',"
                         " 'page.failed', e.tip_id, ? FROM page_outbox o JOIN escalations e"
                         " ON e.id = o.escalation_id WHERE o.id = ?",
                         (q.utc_now_text(), f"reason={reason}", outbox_id))

        await self._db.write(store)
