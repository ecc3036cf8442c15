"""Who to reach, in order, right now: the live answer the voice hand-off and pages use.

The voice channel rings these people one after another: the escalation
policy's levels as they stand at ``now`` (on call first), so a caller and a
page reach the same person first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..store.seam import Store
from .directory import load_directory


@dataclass(frozen=True)
class Contact:
    advocate_id: int
    name: str
    phone: str | None
    email: str | None


async def dial_order(db: Store, now: datetime) -> list[Contact]:
    """Active advocates to reach at ``now``, in escalation order (on call first), each once."""
    d = await load_directory(db)
    names: list[str] = list(d.on_call(now))
    for level in d.levels(d.effective_policy(default_delay=0.0), now):  # order only, not timing
        names += [n for n in level.targets if n not in names]
    return [Contact(p.id, p.name, p.phone, p.email) for p in (d.people[n] for n in names)]
