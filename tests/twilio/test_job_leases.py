"""Twilio jobs claimed once by several front ends on one database (issue 14).

Two front ends (two ``Services`` over one instance folder: two writer threads
and connections on one database, SQLite or PostgreSQL) run the same due jobs against the Twilio
stand-in at the same moment. Time moves by the job workers' clocks.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hotline.config import load_config
from hotline.services import Services
from hotline.store.leases import claim, dialect
from hotline.twilio.jobs import DELETE_MESSAGE, TwilioJobs
from tests.helpers.instance import make_instance
from tests.helpers.twilio_fake import FakeTwilio, sid

from .conftest import twilio_env

pytestmark = pytest.mark.both_stores
LEASE = 30.0


class Clock:
    def __init__(self) -> None:
        self.at = time.time()

    def __call__(self) -> float:
        return self.at


@pytest.fixture
async def front_ends(tmp_path: Path, fake_twilio: FakeTwilio) -> AsyncIterator[list[Services]]:
    inst = make_instance(tmp_path)
    env = twilio_env(fake_twilio, HOTLINE_TWILIO_DELETE_MESSAGES="true")
    opened = []
    try:
        for _ in range(2):
            s = await Services.open(load_config(inst.root, env), env)
            opened.append(s)
            assert s.twilio is not None
            await s.twilio.jobs.stop()  # the test turns the workers itself
        yield opened
    finally:
        for s in opened:
            await s.close()


def _jobs(s: Services, name: str, clock: Clock) -> TwilioJobs:
    """A job worker of front end ``s`` under its own lease owner name."""
    assert s.twilio is not None
    return TwilioJobs(db=s.db, secret=s.secret, rest=s.twilio.rest, intake=s.intake,
                      backoff=(1.0,), delete_media=True, delete_messages=True, clock=clock,
                      lease=LEASE, owner=name)


async def _queue_deletions(s: Services, jobs: TwilioJobs, count: int, at: float) -> list[str]:
    sids = [sid("SM") for _ in range(count)]

    def add(conn: Any) -> None:
        for message_sid in sids:
            TwilioJobs.insert(conn, kind=DELETE_MESSAGE, tip_id=None, message_id=None,
                              group_key=message_sid.encode(),
                              target=jobs.wrap(DELETE_MESSAGE, {"message": message_sid}), next_at=at)

    await s.db.write(add)
    return sids


async def test_two_front_ends_run_each_due_job_once(front_ends: list[Services],
                                                    fake_twilio: FakeTwilio) -> None:
    clock = Clock()
    a, b = _jobs(front_ends[0], "front-end-a", clock), _jobs(front_ends[1], "front-end-b", clock)
    sids = await _queue_deletions(front_ends[0], a, 40, clock.at)
    for _ in range(4):  # batches of 16: both turn at once until nothing is due
        await asyncio.gather(a.run_due(), b.run_due())
    assert Counter(fake_twilio.deleted_messages) == Counter(sids)  # each once, none twice
    assert await a.pending() == []


async def test_a_dead_front_ends_job_is_run_by_another_after_the_lease_and_not_before(
        front_ends: list[Services], fake_twilio: FakeTwilio) -> None:
    clock = Clock()
    b = _jobs(front_ends[1], "front-end-b", clock)
    [message_sid] = await _queue_deletions(front_ends[0], b, 1, clock.at)
    # Front end a claims the job and dies before running it: the claim is all it leaves.
    claimed = await front_ends[0].db.write(lambda conn: claim(
        conn, dialect(front_ends[0].db), table="twilio_jobs", due="state = 'pending' AND next_at <= ?",
        params=(clock.at,), order="id", returning="id", owner="front-end-a", now=clock.at,
        lease=LEASE, limit=16))
    assert len(claimed) == 1
    start = clock.at
    for seconds in (0, 1, LEASE - 1):
        clock.at = start + seconds
        wait = await b.run_due()
        assert fake_twilio.deleted_messages == []
    assert 0 < wait <= 1.0 + 1e-6  # b looks again when the lease ends
    clock.at = start + LEASE + 1
    await b.run_due()
    assert fake_twilio.deleted_messages == [message_sid]
    assert await b.pending() == []
