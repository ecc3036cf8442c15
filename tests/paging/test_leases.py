"""Pages claimed once by several front ends on one database (issue 14).

Two ``PageWorker``s, each on its own store over one database (two writer
threads, two connections: the stand-in for two processes; on SQLite one file,
on PostgreSQL one database, where claims use ``FOR UPDATE SKIP LOCKED``), turn
at the same moment over the same due pages. The notifier is a stand-in for the
outside world that records what it was handed; the worker, the claims and the
database are the real ones. Time is moved by the workers' clocks, never slept.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotline.domain import new_tip_id, new_tip_ref
from hotline.paging.escalation import EscalationPolicy, Level, TipRef, start
from hotline.paging.notifiers import DeliveryFailed, Notice
from hotline.paging.store import open_escalation
from hotline.paging.worker import PageWorker
from hotline.store.factory import open_store, sync_transaction
from hotline.store.seam import Store
from tests.helpers.instance import make_instance
from tests.helpers.store import query, target
from triage_rules import Urgency

pytestmark = pytest.mark.both_stores
LEASE = 30.0
POLICY = EscalationPolicy((Level(("alice",), timedelta(minutes=5)),))


class Recorder:
    """The pager network: records every notice handed to it; ``hold`` keeps sends waiting."""

    kind = "console"

    def __init__(self, name: str, sent: list[tuple[str, str]]) -> None:
        self.name, self.sent = name, sent
        self.hold: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.fail = False

    async def send(self, notice: Notice, target: str | None) -> str:
        self.started.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.fail:
            raise DeliveryFailed("pager network down")
        self.sent.append((self.name, notice.key))
        return self.name


def _open_pages(root: Path, count: int, at: datetime) -> list[str]:
    """``count`` tips whose first page (to alice) is due at ``at``, as intake leaves them."""
    with sync_transaction(target(root)) as conn:
        people = {name: i for i, name in conn.execute("SELECT id, name FROM advocates")}
        for _ in range(count):
            tip_id, ref, stamp = new_tip_id(), new_tip_ref(), at.isoformat()
            conn.execute("INSERT INTO tips (id, ref, channel, urgency, urgency_source, status,"
                         " created_at, updated_at) VALUES (?,?,'web','critical','rules','new',?,?)",
                         (tip_id, ref, stamp, stamp))
            open_escalation(conn, tip_id, start(POLICY, None, TipRef(ref), Urgency.CRITICAL, at),
                            stamp, people, at)
    return [k for (k,) in query(root, "SELECT key FROM page_outbox ORDER BY id")]


def _rows(root: Path, sql: str) -> list[tuple[object, ...]]:
    return query(root, sql)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[tuple[Path, Callable[..., PageWorker]]]:
    root = make_instance(tmp_path).root
    dbs: list[Store] = []
    workers: list[PageWorker] = []

    async def make(name: str, notifier: Recorder, clock: Callable[[], datetime],
                   lease: float = LEASE) -> PageWorker:
        db = open_store(target(root))
        await db.open()
        dbs.append(db)
        w = PageWorker(db=db, notifiers={"console": notifier}, backoff=(1.0,), clock=clock,
                       lease=lease, owner=name)
        workers.append(w)
        return w

    try:
        yield root, make  # type: ignore[misc]
    finally:
        for w in workers:
            await w.stop()
        for db in dbs:
            await db.close()


async def _drain(worker: PageWorker) -> None:
    """Let the deliveries a turn started finish."""
    await worker.drain()


async def test_two_workers_racing_over_the_same_due_pages_send_each_once(two) -> None:  # type: ignore[no-untyped-def]
    root, make = two
    now = datetime.now(UTC)
    keys = _open_pages(root, 40, now)
    sent: list[tuple[str, str]] = []
    a = await make("front-end-a", Recorder("a", sent), Clock(now))
    b = await make("front-end-b", Recorder("b", sent), Clock(now))
    for _ in range(3):  # both turn at once, three times over, as two busy front ends would
        await asyncio.gather(a.run_once(), b.run_once())
        await asyncio.gather(_drain(a), _drain(b))
    per_key = Counter(k for _, k in sent)
    assert sorted(per_key) == sorted(keys) and set(per_key.values()) == {1}, (
        f"sent twice: {[k for k, n in per_key.items() if n > 1]}")
    assert {who for who, _ in sent} <= {"a", "b"}
    assert _rows(root, "SELECT DISTINCT status, lease_owner, sending_since FROM page_outbox") == [
        ("sent", None, None)]


async def test_a_dead_workers_claim_is_sent_by_the_other_after_the_lease_and_not_before(two) -> None:  # type: ignore[no-untyped-def]
    root, make = two
    now = datetime.now(UTC)
    [key] = _open_pages(root, 1, now)
    sent: list[tuple[str, str]] = []
    dying = Recorder("a", sent)
    dying.hold = asyncio.Event()  # never set: front end a dies in the middle of the send
    a = await make("front-end-a", dying, Clock(now))
    clock_b = Clock(now)
    b = await make("front-end-b", Recorder("b", sent), clock_b)
    await a.run_once()
    await asyncio.wait_for(dying.started.wait(), 10)
    await a.stop()  # what kill -9 leaves: the claim, marked as being sent, and nothing else
    assert _rows(root, "SELECT lease_owner, sending_since IS NOT NULL FROM page_outbox") == [
        ("front-end-a", 1)]

    for seconds in (0, 1, LEASE - 1):  # within the lease: not b's to send
        clock_b.at = now + timedelta(seconds=seconds)
        wait = await b.run_once()
        await _drain(b)
        assert sent == []
    assert 0 < wait <= 1.0 + 1e-6  # b wakes when the lease ends, not after MAX_SLEEP

    clock_b.at = now + timedelta(seconds=LEASE + 1)  # the lease has run out
    await b.run_once()
    await _drain(b)
    assert sent == [("b", key)]
    assert _rows(root, "SELECT status, lease_owner FROM page_outbox") == [("sent", None)]
    log = (root / "logs" / "hotline.log").read_text()
    assert "page.taken_over" in log  # it may have gone out before: said so, never hidden

    await b.run_once()  # and it is b's once
    await _drain(b)
    assert sent == [("b", key)]


async def test_a_worker_that_lost_its_lease_never_overwrites_the_new_holders_outcome(two) -> None:  # type: ignore[no-untyped-def]
    root, make = two
    now = datetime.now(UTC)
    _open_pages(root, 1, now)
    sent: list[tuple[str, str]] = []
    slow = Recorder("a", sent)
    slow.hold = asyncio.Event()
    a = await make("front-end-a", slow, Clock(now))
    failing = Recorder("b", sent)
    failing.fail = True
    b = await make("front-end-b", failing, Clock(now + timedelta(seconds=LEASE + 1)))
    await a.run_once()
    await asyncio.wait_for(slow.started.wait(), 10)
    await b.run_once()  # a's lease has run out on b's clock: b takes over, its attempt fails
    await _drain(b)
    assert _rows(root, "SELECT status, attempt, lease_owner FROM page_outbox") == [
        ("pending", 1, None)]
    slow.hold.set()  # a's send finally returns: its "sent" is not written over b's retry
    await _drain(a)
    assert _rows(root, "SELECT status, attempt, last_error FROM page_outbox") == [
        ("pending", 1, "console: pager network down")]
    assert "page.lease_lost" in (root / "logs" / "hotline.log").read_text()


async def test_a_single_page_given_up_is_audited_for_its_tip(two) -> None:  # type: ignore[no-untyped-def]
    root, make = two
    now = datetime.now(UTC)
    _open_pages(root, 1, now)
    down = Recorder("a", [])
    down.fail = True
    clock = Clock(now)
    a = await make("front-end-a", down, clock)
    for _ in range(2):  # the one retry of the backoff, then no notifier is left
        await a.run_once()
        await _drain(a)
        clock.at = now + timedelta(seconds=5)  # past the 1 s backoff
    assert _rows(root, "SELECT status, lease_owner FROM page_outbox") == [("failed", None)]
    assert _rows(root, "SELECT action, detail FROM audit WHERE action = 'page.failed'") == [
        ("page.failed", "reason=pager network down")]


async def test_a_slow_send_keeps_its_lease_and_is_neither_retried_nor_taken_over(two) -> None:  # type: ignore[no-untyped-def]
    root, make = two
    _open_pages(root, 1, datetime.now(UTC))
    sent: list[tuple[str, str]] = []
    slow = Recorder("a", sent)
    slow.hold = asyncio.Event()
    lease = 0.6  # the send below outlasts it several times over

    def now() -> datetime:
        return datetime.now(UTC)

    a = await make("front-end-a", slow, now, lease)
    b = await make("front-end-b", Recorder("b", sent), now, lease)
    await a.run_once()
    await asyncio.wait_for(slow.started.wait(), 10)
    [(first,)] = _rows(root, "SELECT lease_until FROM page_outbox")
    seen = first
    for _ in range(1200):  # a renews while its notifier works (a minute at most)
        await b.run_once()  # and b, looking all the while, never gets the page
        await _drain(b)
        assert sent == [] and _rows(root, "SELECT lease_owner, status FROM page_outbox") == [
            ("front-end-a", "pending")]
        [(seen,)] = _rows(root, "SELECT lease_until FROM page_outbox")
        if seen >= first + 3 * lease:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("front end a never renewed its lease while sending")
    slow.hold.set()
    await _drain(a)
    assert sent == [("a", _rows(root, "SELECT key FROM page_outbox")[0][0])]
    assert _rows(root, "SELECT status, attempt, lease_owner FROM page_outbox") == [
        ("sent", 0, None)]
