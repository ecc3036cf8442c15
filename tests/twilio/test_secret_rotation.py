"""Server-secret rotation end to end (CRYPTO.md §8, issue 13): ``hotline rotate-secret``
adds a version, lookups under the old one still match and rewrite the row to the
new one, ``--retire`` destroys the old version only after ``secrets.retire_after``,
and what was never rewritten then simply stops matching."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import aiohttp
import pytest

from crypto import CryptoError, derive_receipt_keys
from hotline import receipts
from hotline.errors import InstanceError
from hotline.instance import InstancePaths
from hotline.intake import EXTERNAL_LABEL, RECEIPT_LABEL, THREAD_LABEL
from hotline.server_secret import (
    generate_server_secret,
    load_server_secret,
    retire_server_secret,
    rotate_server_secret,
)
from tests.conftest import Browser
from tests.helpers.html import form_by_action, receipt_words
from tests.helpers.instance import make_instance
from tests.helpers.process import run_cli
from tests.helpers.twilio_fake import FakeTwilio

from .conftest import REPORTER, sms_server

OTHER = "+14155550199"  # texts once before the rotation, never during it


def _secret(root: Path):  # type: ignore[no-untyped-def]
    return load_server_secret(InstancePaths(root).server_secret, env={})


async def _open_receipt(url: str, words: list[str]) -> int:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        browser = Browser(url, session)
        _, page = await browser.get("/followup")
        status, _ = await browser.submit(form_by_action(page, "/followup"),
                                         {"receipt": " ".join(words)})
        return status


async def test_threads_and_receipts_survive_a_rotation_and_move_to_the_new_version(
        tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    inst = make_instance(tmp_path)
    root = inst.root
    async with sms_server(tmp_path, fake_twilio, instance=inst) as live:
        await live.text("they keep my passport", sid="SM" + "1" * 32)
        await live.text("me too", sender=OTHER)
        reporter = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        _, page = await Browser(live.url, reporter).get("/")
        form = form_by_action(page, "/report")
        _, html = await Browser(live.url, reporter).submit(form, {"message": "a web report"})
        words = receipt_words(html)
        [(sms_tip, old_thread)] = live.query(
            "SELECT id, thread_hash FROM tips WHERE channel = 'sms' AND thread_hash = ?",
            (_secret(root).hash(THREAD_LABEL, REPORTER.encode()),))
    old_key = _secret(root).keys[1]

    out = await asyncio.to_thread(run_cli, "rotate-secret", str(root))
    assert "version 2 is now current" in out.stdout
    secret = _secret(root)
    assert secret.current == 2 and set(secret.keys) == {1, 2}
    entropy = receipts.decode(" ".join(words))
    assert entropy is not None
    lookup = derive_receipt_keys(entropy).lookup_id

    async with sms_server(tmp_path, fake_twilio, instance=inst) as live:
        await live.text("it happened again")  # the same number, after the rotation
        await live.text("they keep my passport", sid="SM" + "1" * 32)  # Twilio retries
        assert live.query("SELECT COUNT(*) FROM messages WHERE tip_id = ?", (sms_tip,)) == [(2,)]
        [(thread,)] = live.query("SELECT thread_hash FROM tips WHERE id = ?", (sms_tip,))
        assert thread == secret.hash(THREAD_LABEL, REPORTER.encode(), 2) != old_thread
        assert await _open_receipt(live.url, words) == 200  # the receipt still opens
        assert live.query("SELECT receipt_lookup FROM tips WHERE channel = 'web'") == [
            (secret.hash(RECEIPT_LABEL, lookup, 2),)]
        assert live.query("SELECT COUNT(*) FROM messages WHERE external_key = ?",
                          (secret.hash(EXTERNAL_LABEL, b"SM" + b"1" * 32, 1),)) == [(1,)]
        # The report form sent again (a reload) after the rotation: still used, not stored twice.
        status, _ = await Browser(live.url, reporter).submit(form, {"message": "a web report"})
        await reporter.close()
        assert status == 200
        assert live.query("SELECT COUNT(*) FROM messages m JOIN tips t ON t.id = m.tip_id"
                          " WHERE t.channel = 'web'") == [(1,)]

    early = await asyncio.to_thread(run_cli, "rotate-secret", str(root), "--retire", "1",
                                    check=False)
    assert early.returncode != 0 and "secrets.retire_after" in early.stderr
    assert "Traceback" not in early.stderr
    current = await asyncio.to_thread(run_cli, "rotate-secret", str(root), "--retire", "2",
                                      check=False)
    assert current.returncode != 0 and "is the current one" in current.stderr
    assert set(_secret(root).keys) == {1, 2}

    done = await asyncio.to_thread(run_cli, "rotate-secret", str(root), "--retire", "1",
                                   HOTLINE_SECRETS_RETIRE_AFTER="0s")
    assert "version 1 destroyed" in done.stdout
    raw = InstancePaths(root).server_secret.read_bytes()
    assert base64.b64encode(old_key) not in raw and old_key not in raw
    assert list(json.loads(raw)["keys"]) == ["2"]

    async with sms_server(tmp_path, fake_twilio, instance=inst) as live:
        await live.text("still me")  # rewritten: still the same tip
        assert live.query("SELECT COUNT(*) FROM messages WHERE tip_id = ?", (sms_tip,)) == [(3,)]
        assert await _open_receipt(live.url, words) == 200
        await live.text("me again", sender=OTHER)  # never rewritten: no longer matches
        assert live.query("SELECT COUNT(*) FROM tips WHERE channel = 'sms'") == [(3,)]


def test_retire_waits_for_the_period_and_never_takes_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "server-secret.json"
    generate_server_secret(path)
    with pytest.raises(InstanceError, match="current one"):
        retire_server_secret(path, 1, 3600, now=0)
    rotate_server_secret(path, now=1000)
    day = 86400.0
    with pytest.raises(InstanceError, match="left"):
        retire_server_secret(path, 1, 30 * day, now=1000 + 29 * day)
    with pytest.raises(InstanceError, match="no server secret version 7"):
        retire_server_secret(path, 7, 30 * day, now=1000 + 31 * day)
    r = retire_server_secret(path, 1, 30 * day, now=1000 + 30 * day)
    assert (r.current, r.versions, r.retired) == (2, (2,), 1)
    assert load_server_secret(path, env={}).current == 2


def test_force_retires_at_once(tmp_path: Path) -> None:
    path = tmp_path / "server-secret.json"
    generate_server_secret(path)
    rotate_server_secret(path, now=1000)
    r = retire_server_secret(path, 1, 30 * 86400, now=1001, force=True)
    assert r.versions == (2,)


def test_a_twilio_job_queued_before_a_rotation_still_opens() -> None:
    from hotline.server_secret import ServerSecret
    from hotline.twilio.jobs import TwilioJobs

    old = ServerSecret(1, {1: b"\x01" * 32})
    rotated = ServerSecret(2, {1: b"\x01" * 32, 2: b"\x02" * 32})
    before = TwilioJobs.__new__(TwilioJobs)
    before._secret = old
    after = TwilioJobs.__new__(TwilioJobs)
    after._secret = rotated
    blob = before._wrap("delete-message", {"message": "SM1"})
    assert after._unwrap("delete-message", blob) == {"message": "SM1"}
    retired = TwilioJobs.__new__(TwilioJobs)
    retired._secret = ServerSecret(2, {2: b"\x02" * 32})
    with pytest.raises(CryptoError):
        retired._unwrap("delete-message", blob)
