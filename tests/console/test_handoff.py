"""Hand-off: the real CLI verb end to end, and the server's checks on re-sealed envelopes."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3

import aiohttp
import pytest

from crypto import Identity, read_header, reseal
from hotline.client.advocate import AdvocateClient
from hotline.client.handoff import find_colleague, handoff
from hotline.errors import ClientError
from tests.conftest import Browser, Live
from tests.helpers.process import run_cli


async def _tip(live: Live, browser: Browser, text: str = "he keeps our passports") -> str:
    await browser.report(text)
    conn = sqlite3.connect(live.instance.root / "hotline.db")
    try:
        return str(conn.execute("SELECT id FROM tips ORDER BY rowid DESC").fetchone()[0])
    finally:
        conn.close()


async def _client(live: Live, who: Identity) -> AdvocateClient:
    c = AdvocateClient(live.url, who)
    await asyncio.to_thread(c.login)
    return c


async def test_cli_handoff_needs_the_confirmed_fingerprint(live: Live, browser: Browser) -> None:
    tip_id = await _tip(live, browser)
    key = str(live.instance.key_file("alice"))
    common = ["--to", "bob", "--server", live.url, "--key", key]
    refused = await asyncio.to_thread(run_cli, "handoff", tip_id, *common, check=False)
    assert refused.returncode != 0 and live.instance.bob.fingerprint in refused.stderr
    wrong = await asyncio.to_thread(run_cli, "handoff", tip_id, *common, "--fingerprint",
                                    live.instance.alice.fingerprint, check=False)
    assert wrong.returncode != 0 and "hand-off refused" in wrong.stderr
    bob = await _client(live, live.instance.bob)
    assert await asyncio.to_thread(bob.inbox) == []
    done = await asyncio.to_thread(run_cli, "handoff", tip_id, *common, "--fingerprint",
                                   live.instance.bob.fingerprint, "--json")
    assert json.loads(done.stdout)["resealed"] == 1
    assert [t["id"] for t in await asyncio.to_thread(bob.inbox)] == [tip_id]
    opened = await asyncio.to_thread(bob.read, tip_id)
    assert opened.messages[0]["body"] == "he keeps our passports"
    assert live.instance.recovery.fingerprint in opened.messages[0]["sealed_to"]
    # New messages on the tip are sealed to bob too: he is on it now.
    alice = await _client(live, live.instance.alice)
    await asyncio.to_thread(alice.send, tip_id, "shelter called back", note=True)
    assert (await asyncio.to_thread(bob.read, tip_id)).messages[1]["body"] == "shelter called back"


async def _post(live: Live, token: str, tip_id: str, body: object) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as s, s.post(
            f"{live.url}/api/tips/{tip_id}/handoff", json=body,
            headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.json()


async def test_server_refuses_bad_handoffs(live: Live, browser: Browser) -> None:
    tip_id = await _tip(live, browser)
    alice = await _client(live, live.instance.alice)
    token = alice.http.token
    assert token
    tip = await asyncio.to_thread(alice.http.get_json, f"/api/tips/{tip_id}")
    m = tip["messages"][0]
    raw = base64.b64decode(m["envelope"])
    bob, recovery = live.instance.bob, live.instance.recovery
    old = [live.instance.alice.recipient(), recovery.recipient()]
    env = lambda to: base64.b64encode(reseal(raw, live.instance.alice, to)).decode()  # noqa: E731
    cases = [
        ({"to": bob.fingerprint, "envelopes": []}, 400, "non-empty"),
        ({"to": "nobody", "envelopes": [{"id": m["id"], "envelope": env(old)}]}, 400, "fingerprint"),
        ({"to": live.instance.alice.fingerprint, "envelopes": [{"id": m["id"], "envelope": env(old)}]},
         400, "yourself"),
        ({"to": bob.fingerprint, "envelopes": [{"id": m["id"], "envelope": env(old)}]},
         400, "add the colleague"),
        ({"to": bob.fingerprint, "envelopes": [{"id": m["id"], "envelope": env(
            [live.instance.alice.recipient(), bob.recipient()])}]}, 400, "recovery"),
        ({"to": bob.fingerprint, "envelopes": [{"id": m["id"], "envelope": env(
            [*old, bob.recipient(), Identity.generate("mallory").recipient()])}]}, 400, "nobody else"),
        ({"to": bob.fingerprint, "envelopes": [{"id": "m" + "a" * 26, "envelope": env(
            [*old, bob.recipient()])}]}, 400, "not on this tip"),
        ({"to": bob.fingerprint, "envelopes": [{"id": m["id"], "envelope": "%%%"}]}, 400, "base64"),
        ({"to": bob.fingerprint, "envelopes": [{"id": m["id"], "envelope": "AAAA"}]}, 400, "malformed"),
    ]
    for body, status, words in cases:
        got, answer = await _post(live, token, tip_id, body)
        assert (got, words in answer["error"]) == (status, True), (body, answer)
    bob_client = await _client(live, bob)
    assert await asyncio.to_thread(bob_client.inbox) == []  # nothing was changed by a refusal
    got, _ = await _post(live, bob_client.http.token or "", tip_id,
                         {"to": bob.fingerprint, "envelopes": [{"id": m["id"], "envelope": env(old)}]})
    assert got == 404  # not bob's tip to hand off
    stored = await asyncio.to_thread(alice.http.get_json, f"/api/tips/{tip_id}")
    assert set(read_header(base64.b64decode(stored["messages"][0]["envelope"])).recipients) == {
        r.fingerprint for r in old}


async def test_client_handoff_refuses_an_unconfirmed_key(live: Live, browser: Browser) -> None:
    tip_id = await _tip(live, browser)
    alice = await _client(live, live.instance.alice)
    colleague = await asyncio.to_thread(find_colleague, alice, "bob")
    with pytest.raises(ClientError, match="hand-off refused"):
        await asyncio.to_thread(handoff, alice, tip_id, colleague, "ZZZZ-" + colleague.fingerprint[5:])
    with pytest.raises(ClientError, match="no active advocate"):
        await asyncio.to_thread(find_colleague, alice, "mallory")
