"""Who to reach, in order, right now: the live answer the voice hand-off and pages use.

The voice channel rings these people one after another (primary first); the
page worker opens its escalation from the same order, so a caller and a page
reach the same person first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..store import Database


@dataclass(frozen=True)
class Contact:
    advocate_id: int
    name: str
    phone: str | None
    email: str | None


async def dial_order(db: Database, now: datetime) -> list[Contact]:
    """Active advocates to reach at ``now``, in escalation order (on call first)."""
    rows = await db.fetchall(
        "SELECT a.id, a.name, a.phone, a.email FROM oncall o JOIN advocates a ON a.id = o.advocate_id"
        " WHERE a.active = 1 ORDER BY o.position")
    return [Contact(r[0], r[1], r[2], r[3]) for r in rows]
