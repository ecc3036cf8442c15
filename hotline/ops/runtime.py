"""The ops work a running service does by itself: the periodic retention pass.

``OpsRuntime.open(services)`` starts one asyncio task; ``close()`` stops it
before the stores close. A pass that fails is logged (without content),
counted, shown by ``/readyz``, and tried again at the next interval: the
service keeps taking reports either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config, load_config
from ..deletion import claim_due, next_due
from ..keystore import KeyStore, open_keystore
from ..logging import get_logger
from ..store.factory import open_store
from ..store.queries import utc_now_text
from ..store.seam import Store, store_target
from .metrics import Metrics
from .retention import TIP_FACTS_SQL, RetentionPolicy, due, tip_facts
from .shred import Deletion, shred

if TYPE_CHECKING:
    from ..services import Services


async def retention_pass(config: Config, db: Store, keystore: KeyStore,
                         metrics: Metrics | None = None, now: datetime | None = None,
                         *, dry_run: bool = False) -> list[Deletion]:
    """Shred every tip that is due now; return what was (or, dry, would be) deleted."""
    policy = RetentionPolicy.from_config(config)
    rows = await db.fetchall(TIP_FACTS_SQL)
    now = now or datetime.now(UTC)
    deletions = due(policy, tip_facts(rows), now)
    if not deletions or dry_run:
        return deletions
    deletions = await _claim_requests(db, deletions, now)
    await shred(db, keystore, deletions, actor="retention")
    if metrics is not None:
        for d in deletions:
            metrics.tips_deleted.labels(d.reason).inc()
    return deletions


async def _claim_requests(db: Store, deletions: list[Deletion],
                          now: datetime) -> list[Deletion]:
    """Requested deletions go ahead only if still due when claimed on the writer (a hold or a
    reporter's message may have committed since the read); retention's own need no claim."""
    requested = [d.tip_id for d in deletions if d.reason in ("reporter-request", "admin")]
    if not requested:
        return deletions
    stamp = utc_now_text(now)
    claimed = set(await db.write(lambda conn: claim_due(conn, requested, stamp)))
    return [d for d in deletions
            if d.reason not in ("reporter-request", "admin") or d.tip_id in claimed]


async def retention_offline(root: Path, now: datetime | None = None, *,
                            dry_run: bool = False) -> list[Deletion]:
    """One pass from the CLI, on the instance's own files (the service must be stopped)."""
    config = load_config(root)
    target = store_target(root)
    db, keystore = open_store(target), open_keystore(root, config.values, main=target)
    await db.open()
    try:
        await keystore.open()
        try:
            return await retention_pass(config, db, keystore, None, now, dry_run=dry_run)
        finally:
            await keystore.close()
    finally:
        await db.close()


class OpsRuntime:
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.last_error: str | None = None
        self.last_success: float | None = None  # monotonic time

    async def open(self, services: Services) -> None:
        self._services = services
        self._task = asyncio.create_task(self._loop(services.config["ops.retention_interval"]))

    def wake(self) -> None:
        """Run a pass now (e.g. a reporter just asked for deletion)."""
        self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> int:
        """One pass, recorded for /readyz and the metrics."""
        s = self._services
        started = time.monotonic()
        try:
            count = len(await retention_pass(s.config, s.db, s.keystore, s.metrics,
                                             self._clock()))
        except Exception as e:
            self.last_error = type(e).__name__
            s.metrics.retention_runs.labels("failed").inc()
            get_logger("hotline.ops").error("retention.failed", error=type(e).__name__,
                                            exc_info=True)
            raise
        self.last_error, self.last_success = None, time.monotonic()
        s.metrics.retention_runs.labels("ok").inc()
        if count:
            get_logger("hotline.ops").info("retention.deleted", count=count,
                                           duration_ms=round((time.monotonic() - started) * 1000))
        return count

    async def _loop(self, interval: float) -> None:
        while True:
            self._wake.clear()
            with contextlib.suppress(Exception):  # logged in run_once; try again next time
                await self.run_once()
            wait = interval
            with contextlib.suppress(Exception):  # a reporter's request falls due sooner
                at = await next_due(self._services.db, self._clock())
                if at is not None:
                    wait = min(interval, max(0.0, (at - self._clock()).total_seconds()) + 0.5)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
