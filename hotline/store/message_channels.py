"""Each message's own channel for rows stored before schema v7, read from its envelope.

Before v7 a message had no channel of its own: readers took the tip's, and a
reporter who texted and then called (one number, one tip) had voice messages
no reader would open. The channel each envelope was sealed with is in its
cleartext header, so the service fills ``messages.channel`` once at start:
remove the at-rest wrap with the tip's storage key (in memory), read the
header, write the column. No envelope is rewritten, and nothing is decrypted
for a person: the header holds only ids, direction, channel and fingerprints.

The header is not authenticated here, and needs not be: the column only tells
a reader which context to expect, and the reader's own AEAD check of the
header (the associated data) still decides whether the envelope opens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from crypto import CryptoError, read_header, unwrap

from ..domain import Channel
from ..logging import get_logger
from .seam import Store

BATCH = 500


@dataclass(frozen=True)
class ChannelFill:
    filled: int
    unreadable: int  # no storage key (shredded) or a header that does not parse: left NULL


async def fill_message_channels(db: Store,
                                storage_key: Callable[[str], Awaitable[bytes | None]]
                                ) -> ChannelFill:
    """Fill ``messages.channel`` where it is NULL from each envelope's header; idempotent."""
    filled = unreadable = 0
    after = ""
    while True:
        rows = await db.fetchall(
            "SELECT id, tip_id, envelope FROM messages WHERE channel IS NULL AND id > ?"
            " ORDER BY id LIMIT ?", (after, BATCH))
        if not rows:
            break
        after = str(rows[-1]["id"])
        updates: list[tuple[str, str]] = []
        keys: dict[str, bytes | None] = {}
        for r in rows:
            tip_id = str(r["tip_id"])
            if tip_id not in keys:
                keys[tip_id] = await storage_key(tip_id)
            channel = _header_channel(keys[tip_id], tip_id, bytes(r["envelope"]))
            if channel is None:
                unreadable += 1
            else:
                updates.append((channel.value, str(r["id"])))
        if updates:
            await db.write(lambda c, u=updates: c.executemany(  # type: ignore[misc]
                "UPDATE messages SET channel = ? WHERE id = ? AND channel IS NULL", u))
            filled += len(updates)
    log = get_logger("hotline.store")
    if filled:
        log.info("store.message_channels_filled", count=filled)
    if unreadable:
        log.warning("store.message_channels_unreadable", count=unreadable,
                    reason="no storage key (deleted tip) or a header that does not parse")
    return ChannelFill(filled, unreadable)


def _header_channel(key: bytes | None, tip_id: str, wrapped: bytes) -> Channel | None:
    if key is None:
        return None
    try:
        return Channel(read_header(unwrap(key, wrapped, label=tip_id)).context.channel)
    except (CryptoError, ValueError):
        return None
