"""Rule reloads reach every front end that shares the database.

A reload asked of one front end (``hotline rules reload``, which signals it,
or a raw SIGHUP) swaps its rule set, then records the new version in the
database (``meta``, key ``rules_live``, with a random token so that going
back to an earlier version is news too). Every front end looks at that row
every ``cluster.rules_poll`` seconds — one indexed read of one row — and
when it changed and names another version than its own, loads the same rule
files (the instance folder's, shared by every front end) and swaps too.
Polling works on both stores; on PostgreSQL, LISTEN/NOTIFY could shorten the
wait, the poll would stay as the fallback.

Each decision still takes ``RulesHolder.current`` once, so it names one
whole rule set, whichever front end made it. What this cannot do: make every
front end switch at the same instant (for up to one poll period, two front
ends may decide with neighbouring versions, each decision naming its own),
or make a front end whose rule files differ load the announced version
(it logs ``rules.follow_mismatch`` and keeps what its files say).
A following front end never announces, so two of them cannot set each other
off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from typing import Any

from triage_rules import RuleSet

from .logging import get_logger
from .rules_holder import RulesHolder
from .store.queries import utc_now_text
from .store.seam import Store

META_KEY = "rules_live"


class RulesSync:
    def __init__(self, *, db: Store, rules: RulesHolder, poll: float) -> None:
        self._db, self._rules, self._poll = db, rules, poll
        self._seen: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._log = get_logger("hotline.rules")

    async def open(self) -> None:
        """Note what is announced now (this front end just loaded its files) and start looking."""
        self._seen = await self._read()
        self._rules.announce = self.announce
        self._task = asyncio.create_task(self._loop(), name="hotline-rules-sync")

    async def close(self) -> None:
        self._rules.announce = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def announce(self, ruleset: RuleSet) -> None:
        """Tell the other front ends this front end now runs ``ruleset``."""
        value = json.dumps({"version": ruleset.version, "token": secrets.token_hex(8),
                            "at": utc_now_text()})
        self._seen = value
        await self._db.write(lambda conn: conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (META_KEY, value)))
        self._log.info("rules.announced", version=ruleset.version)

    async def check(self) -> RuleSet | None:
        """One look: follow a reload announced by another front end. Returns the new set."""
        value = await self._read()
        if value is None or value == self._seen:
            return None
        self._seen = value
        version = _version(value)
        if version is None or version == self._rules.current.version:
            return None
        fresh = await self._rules.follow()
        got = fresh.version if fresh is not None else self._rules.current.version
        if got != version:
            self._log.warning("rules.follow_mismatch", announced=version, version=got,
                              reason="this front end's rule files differ from the reloading one's")
        else:
            self._log.info("rules.followed", version=got)
        return fresh

    async def _read(self) -> str | None:
        row = await self._db.fetchone("SELECT value FROM meta WHERE key = ?", (META_KEY,))
        return None if row is None else str(row[0])

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._poll)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is down: the running rules stay, look again later
                self._log.warning("rules.sync_failed", exc_info=True)


def _version(value: str) -> str | None:
    try:
        data: Any = json.loads(value)
    except ValueError:
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None
