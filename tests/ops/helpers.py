"""Shared pieces of the ops tests: an opened instance and old tips, without patching."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crypto import derive_receipt_keys
from hotline.config import load_config
from hotline.domain import Channel
from hotline.intake import Inbound, InboundAttachment, IntakeResult
from hotline.services import Services


@asynccontextmanager
async def opened(root: Path, **env: str) -> AsyncIterator[Services]:
    services = await Services.open(load_config(root, env), env)
    try:
        yield services
    finally:
        await services.close()


async def web_tip(s: Services, text: str, attachment: bytes | None = None) -> IntakeResult:
    files = () if attachment is None else (InboundAttachment("a.txt", "text/plain", attachment),)
    return await s.intake.submit(Inbound(
        channel=Channel.WEB, text=text, lang="en",
        receipt=derive_receipt_keys(secrets.token_bytes(16)), attachments=files))


async def sms_tip(s: Services, text: str, sender: str) -> IntakeResult:
    return await s.intake.submit(Inbound(channel=Channel.SMS, text=text, sender=sender))


async def age_tip(s: Services, tip_id: str, days: float, status: str | None = None) -> None:
    """Make a tip look ``days`` old (and set its status) through the service's own writer."""
    stamp = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def write(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE tips SET updated_at = ?, status = COALESCE(?, status) WHERE id = ?",
                     (stamp, status, tip_id))
        conn.execute("UPDATE messages SET created_at = ? WHERE tip_id = ?", (stamp, tip_id))

    await s.db.write(write)


def instance_bytes(root: Path) -> dict[str, bytes]:
    """Every file of the instance (database, WAL, key store, logs…), by relative name."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def holders(files: dict[str, bytes], needle: bytes) -> list[str]:
    return [name for name, data in files.items() if needle in data]
