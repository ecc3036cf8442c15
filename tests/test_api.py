"""The advocate API: login, roles, sharing, envelope checks, audit."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import aiohttp
import pytest

from crypto import EnvelopeContext, Identity, seal, sign_login
from hotline.client.advocate import AdvocateClient
from hotline.domain import new_message_id
from hotline.errors import ClientError
from hotline.instance_setup import remove_advocate
from tests.conftest import Browser, Live
from tests.helpers import store

pytestmark = pytest.mark.both_stores


async def _login(live: Live, who: Identity) -> AdvocateClient:
    client = AdvocateClient(live.url, who)
    await asyncio.to_thread(client.login)
    return client


async def _tip(live: Live, browser: Browser, text: str = "they keep my papers") -> str:
    await browser.report(text)
    # The newest tip: audit ids grow with every commit (created_at has one-second steps).
    return str(store.query(live.instance.root, "SELECT tip_id FROM audit WHERE action ="
                           " 'message.received' ORDER BY id DESC LIMIT 1")[0][0])


async def _raw(live: Live, method: str, path: str, token: str | None = None, **kw):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as s, s.request(method, live.url + path, headers=headers, **kw) as r:
        return r.status, await r.json()


async def test_login_inbox_read_triage_ack(live: Live, browser: Browser) -> None:
    tip_id = await _tip(live, browser)
    alice = await _login(live, live.instance.alice)
    inbox = await asyncio.to_thread(alice.inbox)
    assert [t["id"] for t in inbox] == [tip_id]
    assert {"id", "channel", "urgency", "status", "created_at"} <= set(inbox[0])
    opened = await asyncio.to_thread(alice.read, tip_id)
    assert opened.messages[0]["body"] == "they keep my papers"
    assert live.instance.recovery.fingerprint in opened.messages[0]["sealed_to"]
    tip = await asyncio.to_thread(alice.triage, tip_id, "critical", "in_progress")
    assert (tip["urgency"], tip["urgency_source"], tip["status"]) == ("critical", "advocate", "in_progress")
    tip = await asyncio.to_thread(alice.ack, tip_id)
    assert tip["acked_at"]
    status, audit = await _raw(live, "GET", f"/api/admin/audit?tip={tip_id}", alice.http.token)
    assert status == 200
    actions = [e["action"] for e in audit["events"]]
    assert {"message.received", "tip.fetch", "tip.urgency", "tip.status", "tip.ack"} <= set(actions)


async def test_tips_are_visible_only_to_their_advocates(live: Live, browser: Browser) -> None:
    tip_id = await _tip(live, browser)
    bob = await _login(live, live.instance.bob)
    assert await asyncio.to_thread(bob.inbox) == []
    with pytest.raises(ClientError, match="404"):
        await asyncio.to_thread(bob.read, tip_id)


async def test_advocate_cannot_call_admin_endpoint(live: Live) -> None:
    bob = await _login(live, live.instance.bob)
    status, body = await _raw(live, "GET", "/api/admin/audit", bob.http.token)
    assert status == 403 and "admin" in body["error"]


async def test_forged_missing_and_expired_tokens(live: Live) -> None:
    assert (await _raw(live, "GET", "/api/tips"))[0] == 401
    assert (await _raw(live, "GET", "/api/tips", "forged-token"))[0] == 401
    alice = await _login(live, live.instance.alice)
    live.services.auth._clock = lambda: time.time() + 16 * 60
    status, body = await _raw(live, "GET", "/api/tips", alice.http.token)
    assert status == 401 and "expired" in body["error"]


async def test_login_signature_and_nonce_checks(live: Live) -> None:
    inst = live.instance
    fp = inst.alice.fingerprint
    _, c = await _raw(live, "POST", "/api/auth/challenge", json={"fingerprint": fp})
    nonce = base64.b64decode(c["nonce"])

    def body(sig: bytes) -> dict:  # type: ignore[type-arg]
        return {"fingerprint": fp, "nonce": c["nonce"], "expires_at": c["expires_at"],
                "signature": base64.b64encode(sig).decode()}

    # bob signs for alice's fingerprint
    forged = sign_login(inst.bob, c["origin"], c["instance_id"], fp, nonce, c["expires_at"])
    assert (await _raw(live, "POST", "/api/auth/token", json=body(forged)))[0] == 401
    # a failed attempt does not use the nonce up (a stateless challenge); a success does
    good = sign_login(inst.alice, c["origin"], c["instance_id"], fp, nonce, c["expires_at"])
    assert (await _raw(live, "POST", "/api/auth/token", json=body(good)))[0] == 200
    assert (await _raw(live, "POST", "/api/auth/token", json=body(good)))[0] == 401
    # a signature over another origin (a relaying server) fails
    _, c = await _raw(live, "POST", "/api/auth/challenge", json={"fingerprint": fp})
    nonce = base64.b64decode(c["nonce"])
    relayed = sign_login(inst.alice, "https://evil.example", c["instance_id"], fp, nonce, c["expires_at"])
    assert (await _raw(live, "POST", "/api/auth/token", json=body(relayed)))[0] == 401
    assert (await _raw(live, "POST", "/api/auth/token", json={"x": 1}))[0] == 400
    assert (await _raw(live, "POST", "/api/auth/token", data=b"{"))[0] == 415


async def test_removed_advocate_loses_access_at_once(live: Live, browser: Browser) -> None:
    alice = await _login(live, live.instance.alice)
    remove_advocate(live.instance.root, "alice")
    status, _ = await _raw(live, "GET", "/api/tips", alice.http.token)
    assert status == 401
    await _tip(live, browser)
    assert store.query(live.instance.root, "SELECT COUNT(*) FROM tip_advocates")[0][0] == 0


async def test_client_envelopes_are_checked(live: Live, browser: Browser) -> None:
    tip_id = await _tip(live, browser)
    other_tip = await _tip(live, browser, "another tip")
    inst = live.instance
    alice = await _login(live, inst.alice)
    token = alice.http.token
    _, r = await _raw(live, "GET", f"/api/tips/{tip_id}/recipients", token)
    reporter = r["reporter"]
    from crypto import Recipient
    rep = Recipient(reporter["fingerprint"], base64.b64decode(reporter["box_public"]))
    everyone = [inst.alice.public.recipient(), inst.recovery.public.recipient(), rep]

    async def post(ctx_tip: str, direction: str, recipients, mid: str | None = None):  # type: ignore[no-untyped-def]
        mid = mid or new_message_id()
        ctx = EnvelopeContext(inst.instance_id, ctx_tip, mid, direction, "web")
        env = base64.b64encode(seal(ctx, b"{}", recipients).envelope).decode()
        return await _raw(live, "POST", f"/api/tips/{tip_id}/messages", token,
                          json={"id": mid, "direction": direction, "envelope": env})

    assert (await post(other_tip, "out", everyone))[0] == 400  # bound to another tip
    assert (await post(tip_id, "note", everyone))[0] == 400  # a note sealed to the reporter
    assert (await post(tip_id, "out", everyone[:1] + everyone[2:]))[0] == 400  # no recovery key
    assert (await post(tip_id, "out", everyone[:2]))[0] == 400  # reply the reporter cannot read
    assert (await post(tip_id, "in", everyone))[0] == 400
    status, _ = await post(tip_id, "out", everyone)
    assert status == 201
    mid = new_message_id()
    assert (await post(tip_id, "out", everyone, mid))[0] == 201
    assert (await post(tip_id, "out", everyone, mid))[0] == 409
    status, body = await _raw(live, "POST", f"/api/tips/{tip_id}/messages", token,
                              json={"id": new_message_id(), "direction": "out",
                                    "envelope": "bm90IGFuIGVudmVsb3Bl"})
    assert status == 400 and "malformed" in body["error"]


async def test_urgency_change_feeds_the_rules_report(live: Live, browser: Browser) -> None:
    tip_id = await _tip(live, browser, "they took my passport and I owe them money")
    alice = await _login(live, live.instance.alice)
    await asyncio.to_thread(alice.triage, tip_id, "low", None)
    rows = store.rows(live.instance.root, "SELECT * FROM rule_feedback")
    assert len(rows) == 1
    row, columns = rows[0], list(rows[0])
    assert row["advocate_urgency"] == "low" and row["rules_urgency"] in ("high", "critical")
    assert "documents.confiscated.en" in row["rule_ids"].split(",")
    assert row["ruleset_version"] == live.services.rules.current.version
    assert "tip_id" not in columns  # rule ids and urgencies, never which tip
    from tests.helpers.process import run_cli
    report = json.loads((await asyncio.to_thread(
        run_cli, "rules", "report", str(live.instance.root), "--json")).stdout)
    assert report["records"] == 1
    token = alice.http.token
    bad = {"urgency": "high", "feedback": {"rules": ["Not An Id!"], "rules_urgency": "high",
                                           "ruleset_version": "rs-1"}}
    assert (await _raw(live, "POST", f"/api/tips/{tip_id}/triage", token, json=bad))[0] == 400


async def test_every_api_answer_is_no_store(live: Live, browser: Browser) -> None:
    tip_id = await _tip(live, browser)
    alice = await _login(live, live.instance.alice)
    async with aiohttp.ClientSession() as s:
        for path in ("/api/tips", f"/api/tips/{tip_id}", "/api/advocates", "/api/admin/rules",
                     "/api/me", "/api/tips/nope"):
            async with s.get(live.url + path, headers={"Authorization": f"Bearer {alice.http.token}"}) as r:
                assert "no-store" in r.headers["Cache-Control"], path
        async with s.get(live.url + "/api/tips") as r:
            assert r.status == 401 and "no-store" in r.headers["Cache-Control"]


async def test_inbox_marks_unread_and_who_acknowledged(live: Live, browser: Browser) -> None:
    tip_id = await _tip(live, browser)
    alice = await _login(live, live.instance.alice)
    [tip] = await asyncio.to_thread(alice.inbox)
    assert (tip["unread"], tip["acked_by"]) == (True, None)
    await asyncio.to_thread(alice.read, tip_id)
    await asyncio.to_thread(alice.ack, tip_id)
    [tip] = await asyncio.to_thread(alice.inbox)
    assert (tip["unread"], tip["acked_by"]) == (False, "alice")


async def test_admin_rules_report_is_admins_only_and_has_no_content(live: Live, browser: Browser) -> None:
    tip_id = await _tip(live, browser, "they took my passport, I am locked in")
    alice = await _login(live, live.instance.alice)
    await asyncio.to_thread(alice.triage, tip_id, "low", None)
    status, body = await _raw(live, "GET", "/api/admin/rules", alice.http.token)
    assert status == 200 and body["version"] == live.services.rules.current.version
    assert body["report"]["records"] == 1
    assert "passport" not in json.dumps(body) and tip_id not in json.dumps(body)
    bob = await _login(live, live.instance.bob)
    assert (await _raw(live, "GET", "/api/admin/rules", bob.http.token))[0] == 403


async def test_colleagues_list_carries_verifiable_keys(live: Live) -> None:
    bob = await _login(live, live.instance.bob)
    status, body = await _raw(live, "GET", "/api/advocates", bob.http.token)
    assert status == 200
    from crypto import PublicIdentity

    keys = {a["name"]: PublicIdentity.from_pub_file(base64.b64decode(a["pub_file"])).fingerprint
            for a in body["advocates"]}
    assert keys == {"alice": live.instance.alice.fingerprint, "bob": live.instance.bob.fingerprint}
