"""Reports that fail alone inside one group commit, on both stores.

The writer runs a batch's jobs in one transaction; a job that fails must take
back only its own rows, and on PostgreSQL a failed statement must not abort
the transaction the other jobs share. Each test holds the writer on a gate
until every report is queued, so they are settled in one batch for sure.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from crypto import derive_receipt_keys
from hotline.domain import Channel
from hotline.intake import Inbound, IntakeResult
from hotline.services import Services
from hotline.store.write_lock import WriteLock
from tests.helpers.instance import make_instance
from tests.ops.helpers import opened, sms_tip, web_tip

pytestmark = pytest.mark.both_stores

CALM = "Hello, which languages do you answer in? It is for a school poster."


async def in_one_batch(s: Services, reports: list[Awaitable[IntakeResult]]) -> list[Any]:
    """Run ``reports`` so that their writes are queued behind a held job, then let go.

    SQLite: the file's write turn is held here, as a sibling front end would hold it
    (store/write_lock.py), so the writer waits at BEGIN with a first job while the
    reports queue. PostgreSQL: a job waits on a gate inside the writer's thread."""
    gate, entered = threading.Event(), threading.Event()
    turn: WriteLock | None = None

    def hold(conn: Any) -> None:
        entered.set()
        if turn is None:
            gate.wait(30)

    if s.db.kind == "sqlite":
        turn = WriteLock(s.db.path)  # type: ignore[attr-defined]
        turn.acquire()
        entered.set()
    held = asyncio.ensure_future(s.db.write(hold))
    assert await asyncio.to_thread(entered.wait, 30)
    for _ in range(2000):  # the writer has taken the held job
        if s.db.writer.queue_depth() == 0:
            break
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)
    tasks = [asyncio.ensure_future(r) for r in reports]
    for _ in range(2000):
        if s.db.writer.queue_depth() >= len(reports):
            break
        await asyncio.sleep(0.005)
    assert s.db.writer.queue_depth() == len(reports)
    gate.set()
    if turn is not None:
        turn.close()
    await held
    return await asyncio.gather(*tasks, return_exceptions=True)


async def count(s: Services, table: str) -> int:
    row = await s.db.fetchone(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - test constant
    assert row is not None
    return int(row[0])


def web_inbound(external_id: str) -> Inbound:
    return Inbound(channel=Channel.WEB, text=CALM, lang="en", external_id=external_id,
                   receipt=derive_receipt_keys(secrets.token_bytes(16)))


async def test_two_first_texts_from_one_number_in_one_batch_make_one_tip(tmp_path: Path) -> None:
    """Both find no tip for the number and insert one; the second insert breaks the number's
    UNIQUE constraint. That job alone is taken back and sealed again as a follow-up; the
    reports beside it in the batch commit (on PostgreSQL a failed INSERT outside a savepoint
    would abort all of them)."""
    inst = make_instance(tmp_path)
    async with opened(inst.root) as s:
        await web_tip(s, CALM)  # the directory and the key pool are warm
        tips, messages = await count(s, "tips"), await count(s, "messages")
        sender = "+14155550111"
        results = await in_one_batch(s, [web_tip(s, CALM), sms_tip(s, CALM, sender),
                                         sms_tip(s, "and again", sender), web_tip(s, CALM)])
        assert all(isinstance(r, IntakeResult) for r in results), results
        assert results[1].tip_id == results[2].tip_id
        assert [r.new_tip for r in results[1:3]].count(True) == 1
        assert await count(s, "tips") == tips + 3
        assert await count(s, "messages") == messages + 4


async def test_a_duplicate_in_the_same_batch_is_caught_by_its_insert_and_leaves_nothing(
        tmp_path: Path) -> None:
    """The same external id twice in one batch, then once more alone: one message, one tip;
    the copies answer with the first's ids, and their new tips are taken back with them."""
    inst = make_instance(tmp_path)
    async with opened(inst.root) as s:
        await web_tip(s, CALM)
        tips, messages = await count(s, "tips"), await count(s, "messages")
        first, copy, other = await in_one_batch(s, [
            s.intake.submit(web_inbound("web-form:same")),
            s.intake.submit(web_inbound("web-form:same")),
            web_tip(s, CALM)])
        assert isinstance(first, IntakeResult) and isinstance(copy, IntakeResult)
        assert isinstance(other, IntakeResult) and not other.duplicate
        kept, dup = (first, copy) if not first.duplicate else (copy, first)
        assert dup.duplicate and not kept.duplicate
        assert (dup.tip_id, dup.message_id, dup.tip_ref) == (kept.tip_id, kept.message_id,
                                                             kept.tip_ref)
        late = await s.intake.submit(web_inbound("web-form:same"))  # a batch of its own
        assert late.duplicate and late.message_id == kept.message_id
        assert await count(s, "tips") == tips + 2
        assert await count(s, "messages") == messages + 2
        assert await count(s, "tip_advocates") >= 1
