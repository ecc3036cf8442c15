"""The people side of paging, read in one go: advocates, the on-call list, the
rotation, the escalation policy and everyone's notifiers.

Intake reads it for every message that arrives (who to seal to, whether and
whom to page) and the page worker for every send, so it is one query, one
thread hop. ``plan`` turns the admin's policy into a concrete escalation plan:
``oncall`` becomes the rotation's person at that instant (or, without a
rotation, everyone on the plain on-call list) and ``admins`` every active
administrator. Names that no longer match an active advocate are dropped.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from triage_rules import Urgency

from ..domain import AdvocateId
from ..logging import get_logger
from ..recipients import AdvocateKey
from ..store.seam import Store
from ..store.stamps import Stamp, directory_stamp
from .escalation import (
    ONCALL,
    EscalationPlan,
    EscalationPolicy,
    Level,
    TipChannel,
    TipRef,
    escalation_policy_from_dict,
    start,
)
from .oncall import Rotation, rotation_from_dict, who_is_on_call

ADMINS = "admins"
"""The escalation target meaning "every active administrator"."""

NOTIFIER_KINDS = ("sms", "call", "email", "webhook", "console")


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    fingerprint: str
    box_public: bytes
    role: str
    phone: str | None
    email: str | None
    notifiers: tuple[tuple[str, str | None], ...] = ()  # (kind, target) in the advocate's order

    def key(self) -> AdvocateKey:
        return AdvocateKey(AdvocateId(self.id), self.name, self.fingerprint, self.box_public)

    def chain(self) -> tuple[tuple[str, str | None], ...]:
        """The notifiers to try in order: the advocate's choice, else what their contacts allow."""
        if self.notifiers:
            return self.notifiers
        chain: list[tuple[str, str | None]] = []
        if self.phone:
            chain += [("sms", self.phone), ("call", self.phone)]
        if self.email:
            chain.append(("email", self.email))
        chain.append(("console", None))
        return tuple(chain)


@dataclass(frozen=True)
class Directory:
    people: dict[str, Person]
    oncall_list: tuple[str, ...]
    rotation: Rotation | None
    policy: EscalationPolicy | None
    by_id: dict[int, Person] = field(default_factory=dict)

    def on_call(self, at: datetime) -> tuple[str, ...]:
        """Who is on call at ``at``: the rotation's person, else the plain list."""
        if self.rotation is not None:
            name = who_is_on_call(self.rotation, at).advocate
            return (name,) if name in self.people else ()
        return tuple(n for n in self.oncall_list if n in self.people)

    def effective_policy(self, default_delay: float) -> EscalationPolicy:
        if self.policy is not None:
            return self.policy
        delay = timedelta(seconds=default_delay)
        return EscalationPolicy((Level((ONCALL,), delay), Level((ADMINS,), delay)), repeat=1)

    def levels(self, policy: EscalationPolicy, at: datetime) -> list[Level]:
        """The policy's levels with ``oncall``/``admins`` expanded at ``at``; empty levels dropped."""
        oncall = self.on_call(at)
        admins = tuple(p.name for p in self.people.values() if p.role == "admin")
        levels = []
        for level in policy.levels:
            names: list[str] = []
            for target in level.targets:
                expanded = oncall if target == ONCALL else admins if target == ADMINS else (target,)
                names += [n for n in expanded if n in self.people and n not in names]
            if names:
                levels.append(Level(tuple(names), level.delay))
        return levels

    def chain(self, policy: EscalationPolicy, at: datetime) -> set[str]:
        """Everyone an escalation starting at ``at`` may page: whom a message must be sealed to."""
        return set(self.on_call(at)) | {n for lvl in self.levels(policy, at) for n in lvl.targets}

    def plan(self, policy: EscalationPolicy, tip_ref: str, channel: str, urgency: Urgency,
             at: datetime, plan_id: str) -> EscalationPlan | None:
        """The concrete plan at ``at``; None when no level names anyone who can be paged."""
        levels = self.levels(policy, at)
        if not levels:
            return None
        return start(EscalationPolicy(tuple(levels), policy.repeat), None, TipRef(tip_ref), urgency,
                     at, channel=TipChannel(channel), plan_id=plan_id)

    def keys_for(self, names: set[str] | tuple[str, ...]) -> list[AdvocateKey]:
        return [self.people[n].key() for n in sorted(names) if n in self.people]


def plan_people(plan: EscalationPlan) -> set[str]:
    return {name for level in plan.levels for name in level.people}


_QUERY = """
SELECT 'a', id, name, fingerprint, box_public, role, phone, email FROM advocates WHERE active = 1
UNION ALL SELECT 'o', o.position, a.name, NULL, NULL, NULL, NULL, NULL
    FROM oncall o JOIN advocates a ON a.id = o.advocate_id WHERE a.active = 1
UNION ALL SELECT 's', NULL, key, value, NULL, NULL, NULL, NULL FROM paging_settings
UNION ALL SELECT 'n', advocate_id, kind, target, NULL, CAST(position AS TEXT), NULL, NULL
    FROM advocate_notifiers
"""


async def load_directory(db: Store) -> Directory:
    return directory_from_rows(await db.fetchall(_QUERY))


class DirectoryCache:
    """The directory kept in memory for intake, with the stamp it was read at.

    Read on the writer (in one transaction with its stamp), so the pair is
    consistent; every message's transaction compares the stamp
    (``hotline/store/stamps.py``) and a stale one sends the message back to be
    sealed for the fresh directory. Concurrent misses share one read.
    """

    def __init__(self, db: Store) -> None:
        self._db = db
        self._entry: tuple[Directory, Stamp] | None = None
        self._loading: asyncio.Task[tuple[Directory, Stamp]] | None = None

    async def get(self) -> tuple[Directory, Stamp]:
        if self._entry is not None:
            return self._entry
        if self._loading is None or self._loading.done():
            self._loading = asyncio.create_task(self._load())
        return await asyncio.shield(self._loading)

    def invalidate(self, stamp: Stamp) -> None:
        """Forget the directory read at ``stamp`` (found stale by a write)."""
        if self._entry is not None and self._entry[1] == stamp:
            self._entry = None

    async def _load(self) -> tuple[Directory, Stamp]:
        def read(conn: sqlite3.Connection) -> tuple[Directory, Stamp]:
            return directory_from_rows(conn.execute(_QUERY).fetchall()), directory_stamp(conn)

        entry = await self._db.write(read)
        self._entry = entry
        return entry


def directory_from_rows(rows: list) -> Directory:  # type: ignore[type-arg]
    people: dict[str, Person] = {}
    by_id: dict[int, Person] = {}
    oncall: list[tuple[int, str]] = []
    settings: dict[str, str] = {}
    notifiers: dict[int, list[tuple[int, str, str | None]]] = {}
    for r in rows:
        kind = r[0]
        if kind == "a":
            p = Person(r[1], r[2], r[3], bytes(r[4]), r[5], r[6], r[7])
            people[p.name] = p
        elif kind == "o":
            oncall.append((r[1], r[2]))
        elif kind == "s":
            settings[r[2]] = r[3]
        else:
            # position travels as text: each column of a UNION has one type on PostgreSQL
            notifiers.setdefault(r[1], []).append((int(r[5]), r[2], r[3]))
    for name, p in list(people.items()):
        chain = tuple((k, t) for _, k, t in sorted(notifiers.get(p.id, [])))
        if chain:
            people[name] = p = Person(p.id, p.name, p.fingerprint, p.box_public, p.role, p.phone,
                                      p.email, chain)
        by_id[p.id] = p
    rotation = policy = None
    log = get_logger("hotline.paging")
    try:
        if "rotation" in settings:
            rotation = rotation_from_dict(json.loads(settings["rotation"]))
        if "escalation" in settings:
            policy = escalation_policy_from_dict(json.loads(settings["escalation"]))
    except ValueError as e:  # written by the CLI after checking; only a hand edit gets here
        log.error("paging.settings_invalid", error=type(e).__name__)
    return Directory(people, tuple(n for _, n in sorted(oncall)), rotation, policy, by_id)
