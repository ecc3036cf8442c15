"""The live rule set, swapped atomically, and the second reader beside it.

Readers take ``current`` once per decision, so one message is never triaged
by half of one set and half of another. A reload that fails keeps the last
good set running and says why. The reader (``triage_rules.reader``: shipped
weights, may only raise) is loaded once at start when ``rules.reader`` is on;
a broken weights file stops the start, as broken rules do. A reload asked of
this front end is announced to the others sharing the database (``announce``,
set by ``hotline.rules_sync``); one that follows another front end's is not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from triage_rules import RuleError, RuleSet, RulesLoadError, load_rules
from triage_rules.reader import Reader, load_reader
from triage_rules.triage import Triage, triage

from .logging import get_logger


class RulesHolder:
    def __init__(self, paths: Sequence[Path], *, reader: bool = True) -> None:
        self.paths = list(paths)
        self.current: RuleSet = load_rules(self.paths)  # fail closed: no rules, no start
        self.reader: Reader | None = load_reader() if reader else None
        self.on_reload: Callable[[str], None] | None = None
        """Told "ok" or "refused" after each reload attempt (the metrics counter)."""
        self.announce: Callable[[RuleSet], Awaitable[None]] | None = None
        """Tells the other front ends about a reload asked of this one (``rules_sync``)."""

    def triage(self, text: str, *, channel: str | None) -> Triage:
        """The live rules' decision (no spans), raised by the reader when it is on."""
        return triage(self.current, self.reader, text, lang=None, channel=channel)

    def reload(self) -> RuleSet:
        """Load and swap; on error raise and keep the running set."""
        return self._swap(self._load())

    async def reload_in_background(self) -> RuleSet | None:
        """Compile in a worker thread (the loop keeps serving), swap on the loop.

        A broken set is logged and refused; None means the old set still runs.
        The new set is announced to the other front ends (a failure to do so is
        logged; this front end runs the new set anyway).
        """
        fresh = await self.follow()
        if fresh is not None and self.announce is not None:
            try:
                await self.announce(fresh)
            except Exception:
                get_logger().warning("rules.announce_failed", version=fresh.version,
                                     reason="other front ends keep their rules until the next "
                                            "reload", exc_info=True)
        return fresh

    async def follow(self) -> RuleSet | None:
        """Load and swap like ``reload_in_background``, without announcing it: another
        front end reloaded and this one follows."""
        try:
            fresh = await asyncio.to_thread(self._load)
        except RuleError:
            return None
        return self._swap(fresh)

    def _load(self) -> RuleSet:
        try:
            return load_rules(self.paths)
        except RulesLoadError as e:
            get_logger().warning("rules.reload_refused", version=self.current.version,
                                 count=len(e.issues), reason="the new rule files have errors")
            self._tell("refused")
            raise
        except RuleError:
            self._tell("refused")
            raise

    def _tell(self, outcome: str) -> None:
        if self.on_reload is not None:
            self.on_reload(outcome)

    def _swap(self, fresh: RuleSet) -> RuleSet:
        self.current = fresh  # one reference assignment: each decision sees one whole set
        self._tell("ok")
        get_logger().info("rules.live", version=fresh.version, count=len(fresh.rules))
        return fresh
