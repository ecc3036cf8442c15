"""The reporter's reply key is wrapped at rest (issue 13): a copy of the database
cannot test a guessed receipt by deriving its reply key and comparing.

Replies still reach the reporter: the CLI seals to the key the API unwraps,
the follow-up page opens the reply with the receipt. Rows stored in clear
before schema v13 are moved into the wrapped form at start-up."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from aiohttp.test_utils import TestServer

from crypto import derive_receipt_keys
from hotline import receipts
from hotline.app import make_app
from tests.conftest import Browser, free_port
from tests.helpers.html import form_by_action, receipt_words
from tests.helpers.instance import make_instance
from tests.helpers.process import run_cli

if TYPE_CHECKING:  # not imported at run time: pytest would try to collect it
    from tests.helpers.instance import TestInstance

REPLY = "We read your report. Are you safe to talk tonight?"


@asynccontextmanager
async def _serve(inst: TestInstance, port: int) -> AsyncIterator[str]:
    server = TestServer(make_app(inst.root, env={}), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.close()


def _database_bytes(root: Path) -> bytes:
    """What a copy of the database holds: the file and its WAL."""
    return b"".join(p.read_bytes() for p in sorted(root.glob("hotline.db*")) if p.is_file())


def _clear_forms(words: list[str]) -> list[bytes]:
    entropy = receipts.decode(" ".join(words))
    assert entropy is not None
    reply = derive_receipt_keys(entropy).reply
    return [reply.box_public, reply.fingerprint.encode()]


def _sql(root: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(root / "hotline.db")
    try:
        with conn:
            return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


async def _report_reply_and_read(url: str, inst: TestInstance, session: aiohttp.ClientSession,
                                 words: list[str] | None = None) -> list[str]:
    browser = Browser(url, session)
    if words is None:
        _, html = await browser.report("They took my passport and I cannot leave the farm.")
        words = receipt_words(html)
    (tip_id,) = _sql(inst.root, "SELECT id FROM tips WHERE channel = 'web'")[0]
    client = ["--server", url, "--key", str(inst.key_file("alice"))]
    await asyncio.to_thread(run_cli, "reply", str(tip_id), "-m", REPLY, *client)
    _, page = await browser.get("/followup")
    status, thread = await browser.submit(form_by_action(page, "/followup"),
                                          {"receipt": " ".join(words)})
    assert status == 200 and REPLY in thread  # the reply opens with the receipt
    return words


async def test_no_reply_key_or_fingerprint_in_a_database_copy(tmp_path: Path) -> None:
    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with _serve(inst, port) as url:
            words = await _report_reply_and_read(url, inst, session)
            running = _database_bytes(inst.root)
    stopped = _database_bytes(inst.root)
    for secret in _clear_forms(words):
        assert secret not in running and secret not in stopped
    assert _sql(inst.root, "SELECT reply_public, reply_fingerprint FROM tips") == [(None, None)]


async def test_reply_keys_stored_in_clear_before_v13_are_wrapped_at_start(tmp_path: Path) -> None:
    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with _serve(inst, port) as url:
            _, html = await Browser(url, session).report("He keeps our papers.")
        words = receipt_words(html)
        public, fingerprint = _clear_forms(words)
        # A row as schema v12 stored it: the key and its fingerprint in clear.
        _sql(inst.root, "UPDATE tips SET reply_sealed = NULL, reply_public = ?,"
             " reply_fingerprint = ?", (public, fingerprint.decode()))
        assert public in _database_bytes(inst.root)
        async with _serve(inst, port) as url:
            assert _sql(inst.root, "SELECT reply_public, reply_fingerprint, reply_sealed IS NOT NULL"
                        " FROM tips") == [(None, None, 1)]
            await _report_reply_and_read(url, inst, session, words)
        data = _database_bytes(inst.root)
        assert public not in data and fingerprint not in data
