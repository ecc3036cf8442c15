"""Small helpers shared by the paging service tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.helpers import store

ALICE_PHONE = "+14155550101"
BOB_PHONE = "+14155550102"
CRITICAL = "HELP ME NOW he is hurting me"
CANARY = "zebra-canary-7Q2"  # a word no page may ever carry


def set_contact(root: Path, name: str, *, phone: str | None = None, email: str | None = None) -> None:
    """An advocate's own paging contacts, as 'advocate add --phone/--email' would store them."""
    store.execute(root, "UPDATE advocates SET phone = COALESCE(?, phone), email = COALESCE(?, email)"
                  " WHERE name = ? AND active = 1", (phone, email, name))


def query(root: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return store.query(root, sql, params)


async def until(check: Callable[[], Any], within: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
