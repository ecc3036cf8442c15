"""A texter's thread as the SMS channel needs to know it, without the number.

Every question is asked through keyed hashes (server secret, outside the
database): is there a thread for this number (CRYPTO.md §8), was this
MessageSid stored already, and may this thread get the automatic reply now.

The automatic reply goes out at most once per window per thread. The claim
is a row keyed by the thread hash, written in the same transaction as the
message (``claim_in`` runs on the writer thread), so two messages racing
cannot both win and a crash cannot send a reply for an unstored message. The
claim remembers which MessageSid won it, so Twilio retrying that same
delivery (our first answer was lost) gets the same answer again. Claims older
than the window are deleted as they are passed: the table is not a history
of who texted when.

A retried delivery (its MessageSid is stored already) never claims: it only
reads whether its first delivery won the claim, still inside the window, and
answers the same. A replay or a retry storm is then reads alone (no writer
job, no budget unit), and an old delivery replayed after the window cannot
make us text a phone that may no longer be in the reporter's hands.

A flood from many numbers would win a claim per number, and each reply costs
money (and is what SMS-pumping fraud is after). So every claim also takes one
unit of a **global** budget, ``sms.auto_reply_budget`` replies per minute,
counted in the ``flood_budget`` table: the same count for every front end and
across restarts, and nothing in it about who texted (a slot start and a
count). A message past the budget is stored like any other; it only gets no
automatic reply, and its thread's claim is not taken, so the texter's next
message can still get one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..intake import EXTERNAL_LABEL, THREAD_LABEL
from ..server_secret import ServerSecret
from ..store import budgets
from ..store.seam import Store


@dataclass(frozen=True)
class ClaimKeys:
    """Precomputed on the event loop so the writer thread only runs SQL."""

    thread: bytes
    message: bytes
    force: bool
    now: float
    cutoff: float
    budget: int  # automatic replies allowed per minute, all threads together


BUDGET_AUTO_REPLY = "sms_auto_reply"


def take_budget(conn: sqlite3.Connection, kind: str, now: float, limit: int) -> bool:
    """Take one unit of this minute's global budget of ``kind``; False when it is spent
    (``hotline.store.budgets``: in the caller's transaction, so the writer serialises it
    across front ends)."""
    return budgets.take(conn, kind, now, limit)


class Conversations:
    def __init__(self, *, db: Store, secret: ServerSecret, window: float, budget: int = 30,
                 clock: Callable[[], float] = time.time) -> None:
        self._db, self._secret, self._window, self._clock = db, secret, window, clock
        self._budget = budget

    async def has_thread(self, sender: str) -> bool:
        for h in self._secret.hashes(THREAD_LABEL, sender.encode()):
            if await self._db.fetchone("SELECT 1 FROM tips WHERE thread_hash = ?", (h,)):
                return True
        return False

    async def has_message(self, message_sid: str) -> bool:
        for key in self._secret.hashes(EXTERNAL_LABEL, message_sid.encode()):  # every version
            if await self._db.fetchone("SELECT 1 FROM messages WHERE external_key = ?", (key,)):
                return True
        return False

    def claim_keys(self, sender: str, message_sid: str, *, force: bool = False) -> ClaimKeys:
        now = self._clock()
        return ClaimKeys(self._secret.hash(THREAD_LABEL, sender.encode()),
                         self._secret.hash(EXTERNAL_LABEL, message_sid.encode()),
                         force, now, now - self._window, self._budget)

    @staticmethod
    def claim_in(conn: sqlite3.Connection, keys: ClaimKeys) -> bool:
        """Take this window's automatic reply for the thread, if it is still free."""
        conn.execute("DELETE FROM sms_auto_replies WHERE replied_at < ?", (keys.cutoff,))
        row = conn.execute("SELECT external_key FROM sms_auto_replies WHERE thread_hash = ?",
                           (keys.thread,)).fetchone()
        if row is not None and not keys.force:
            return bool(row[0] == keys.message)  # the same delivery, retried by Twilio
        if row is not None and row[0] == keys.message:
            return True  # a forced reply (language keyword) retried: already counted
        if not take_budget(conn, BUDGET_AUTO_REPLY, keys.now, keys.budget):
            return False
        conn.execute(
            "INSERT INTO sms_auto_replies (thread_hash, replied_at, external_key) VALUES (?,?,?)"
            " ON CONFLICT (thread_hash) DO UPDATE SET replied_at = excluded.replied_at,"
            " external_key = excluded.external_key", (keys.thread, keys.now, keys.message))
        return True

    async def won(self, keys: ClaimKeys) -> bool:
        """Whether this delivery, already stored, won its thread's reply in this window.

        A read, never a claim: the first delivery decided in its own commit.
        """
        row = await self._db.fetchone(
            "SELECT external_key FROM sms_auto_replies WHERE thread_hash = ? AND replied_at >= ?",
            (keys.thread, keys.cutoff))
        return row is not None and bytes(row["external_key"]) == keys.message
