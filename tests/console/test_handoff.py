"""Hand-off adds signed key grants; no stored envelope is ever replaced.

The real CLI verb end to end, the server's refusals of forged grants (each a
4xx that changes nothing), readers refusing bad grants a malicious server
stored anyway, and authors shown only from verified signatures.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sqlite3

import aiohttp
import pytest

from crypto import (
    EnvelopeContext,
    Identity,
    make_grant,
    open_envelope,
    read_header,
    seal,
    sign_message,
    signed_body,
    wrap,
)
from crypto._sealedbox import seal_box
from crypto.grant import GRANT_PURPOSE, Grant
from hotline.client.advocate import AdvocateClient
from hotline.client.handoff import find_colleague, handoff
from hotline.domain import Role, new_message_id
from hotline.errors import ClientError
from hotline.instance_setup import add_advocate
from hotline.keystore.offline import offline_keys
from hotline.store.grants import grant_label
from tests.conftest import Browser, Live
from tests.helpers.process import run_cli


async def _tip(live: Live, browser: Browser, text: str = "he keeps our passports") -> str:
    await browser.report(text)
    return str(_query(live, "SELECT id FROM tips ORDER BY rowid DESC")[0][0])


def _query(live: Live, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(live.instance.root / "hotline.db")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _stored(live: Live) -> dict[str, bytes]:
    """The database bytes of every stored envelope (wrapped at rest), by message id."""
    return {str(r[0]): bytes(r[1])  # type: ignore[arg-type]
            for r in _query(live, "SELECT id, envelope FROM messages")}


async def _client(live: Live, who: Identity) -> AdvocateClient:
    c = AdvocateClient(live.url, who)
    await asyncio.to_thread(c.login)
    return c


async def test_cli_handoff_adds_grants_and_changes_no_stored_byte(
        live: Live, browser: Browser) -> None:
    tip_id = await _tip(live, browser)
    alice_c = await _client(live, live.instance.alice)
    await asyncio.to_thread(alice_c.send, tip_id, "called the shelter", note=True)
    before = _stored(live)
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
    assert json.loads(done.stdout)["granted"] == 2
    assert _stored(live) == before  # every envelope byte for byte as it was
    assert _query(live, "SELECT COUNT(*) FROM grants") == [(2,)]
    audit = _query(live, "SELECT detail FROM audit WHERE action = 'tip.handoff'")
    assert audit == [(f"to={live.instance.bob.fingerprint} granted=2/2",)]
    assert [t["id"] for t in await asyncio.to_thread(bob.inbox)] == [tip_id]
    opened = await asyncio.to_thread(bob.read, tip_id)
    assert [m["body"] for m in opened.messages] == ["he keeps our passports", "called the shelter"]
    for m in opened.messages:
        assert m["granted_by"] == {"fingerprint": live.instance.alice.fingerprint, "name": "alice"}
    assert opened.messages[1]["signature"]["status"] == "verified"
    assert opened.messages[1]["signature"]["name"] == "alice"
    # The recovery key and alice still open the untouched originals.
    for m in opened.messages:
        env = base64.b64decode(next(x["envelope"] for x in (await asyncio.to_thread(
            alice_c.http.get_json, f"/api/tips/{tip_id}"))["messages"] if x["id"] == m["id"]))
        assert open_envelope(env, live.instance.recovery).body
    # New messages on the tip are sealed to bob directly: he is on it now.
    await asyncio.to_thread(alice_c.send, tip_id, "shelter called back", note=True)
    latest = (await asyncio.to_thread(bob.read, tip_id)).messages[2]
    assert latest["body"] == "shelter called back" and latest["granted_by"] is None
    again = await asyncio.to_thread(run_cli, "handoff", tip_id, *common, "--fingerprint",
                                    live.instance.bob.fingerprint, check=False)
    assert again.returncode != 0 and "already" in again.stderr  # nothing left to grant him
    # Bob passes the tip on (a chain): carol reads alice's words through bob's grants.
    carol = Identity.generate("carol")
    add_advocate(live.instance.root, carol.public, name="carol", role=Role.ADVOCATE)
    await asyncio.to_thread(handoff, bob, tip_id,
                            await asyncio.to_thread(find_colleague, bob, "carol"), carol.fingerprint)
    after = _stored(live)
    assert all(after[k] == v for k, v in before.items())
    carol_c = await _client(live, carol)
    chain = (await asyncio.to_thread(carol_c.read, tip_id)).messages
    assert [m["body"] for m in chain] == ["he keeps our passports", "called the shelter",
                                         "shelter called back"]
    assert {m["granted_by"]["name"] for m in chain} == {"bob"}
    assert chain[1]["signature"]["name"] == "alice"  # the author, not whoever shared it


async def _post(live: Live, token: str, tip_id: str, body: object) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as s, s.post(
            f"{live.url}/api/tips/{tip_id}/handoff", json=body,
            headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.json()


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _forge(ctx: EnvelopeContext, commitment: bytes, grantor: str, grantee: Identity,
           signer: Identity, key: bytes | None = None) -> bytes:
    """A grant with any fields, signed by ``signer`` (who may not be the named grantor)."""
    sealed = seal_box(key or os.urandom(32), grantee.box_public, os.urandom)
    draft = Grant(ctx, commitment, grantor, grantee.fingerprint, sealed, b"")
    return Grant(ctx, commitment, grantor, grantee.fingerprint, sealed,
                 signer.sign(GRANT_PURPOSE, draft.signed_part())).to_bytes()


async def test_server_refuses_forged_handoffs_and_changes_nothing(
        live: Live, browser: Browser) -> None:
    tip_id = await _tip(live, browser)
    other_tip = await _tip(live, browser, "a second report")
    alice_i, bob, recovery = live.instance.alice, live.instance.bob, live.instance.recovery
    carol = Identity.generate("carol")
    add_advocate(live.instance.root, carol.public, name="carol", role=Role.ADVOCATE)
    alice = await _client(live, alice_i)
    token = alice.http.token or ""
    tip = await asyncio.to_thread(alice.http.get_json, f"/api/tips/{tip_id}")
    m = tip["messages"][0]
    raw = base64.b64decode(m["envelope"])
    header = read_header(raw)
    opened = open_envelope(raw, alice_i)
    other = (await asyncio.to_thread(alice.http.get_json, f"/api/tips/{other_tip}"))["messages"][0]
    other_opened = open_envelope(base64.b64decode(other["envelope"]), alice_i)
    good = make_grant(opened, alice_i, bob.recipient())
    C, ctx = header.commitment, header.context
    item = lambda g, mid=m["id"]: {"to": bob.fingerprint, "grants": [{"id": mid, "grant": _b64(g)}]}  # noqa: E731
    before = _stored(live)
    cases = [
        ({"to": bob.fingerprint, "envelopes": [{"id": m["id"], "envelope": m["envelope"]}]},
         400, "never replaces a stored envelope"),
        ({"to": bob.fingerprint, "grants": []}, 400, "non-empty"),
        ({"to": "nobody", "grants": [{"id": m["id"], "grant": _b64(good)}]}, 400, "fingerprint"),
        ({"to": alice_i.fingerprint, "grants": [{"id": m["id"], "grant": _b64(good)}]},
         400, "yourself"),
        # a grant signed by someone else than the advocate handing off
        (item(make_grant(opened, recovery, bob.recipient())), 400, "signed by you"),
        # names alice as grantor but is signed with another key
        (item(_forge(ctx, C, alice_i.fingerprint, bob, bob)), 400, "signature does not verify"),
        # the key it seals is not the message's (commitment of another key)
        (item(_forge(ctx, os.urandom(32), alice_i.fingerprint, bob, alice_i)), 400,
         "another key"),
        # garbage
        (item(b"HLGR\x01\x01" + os.urandom(200)), 400, "malformed"),
        ({"to": bob.fingerprint, "grants": [{"id": m["id"], "grant": "%%%"}]}, 400, "base64"),
        # a grant of another tip's message, filed under this message, or under its own id
        (item(make_grant(other_opened, alice_i, bob.recipient())), 400, "another message or tip"),
        (item(make_grant(other_opened, alice_i, bob.recipient()), other["id"]), 400,
         "not on this tip"),
        # sealed to someone other than the colleague named
        (item(make_grant(opened, alice_i, carol.recipient())), 400, "colleague named"),
        # the same message twice in one request
        ({"to": bob.fingerprint, "grants": [{"id": m["id"], "grant": _b64(good)}, {
            "id": m["id"], "grant": _b64(good)}]}, 400, "appears twice"),
    ]
    for body, status, words in cases:
        got, answer = await _post(live, token, tip_id, body)
        assert (got, words in answer["error"]) == (status, True), (words, answer)
    assert _query(live, "SELECT COUNT(*) FROM grants") == [(0,)]
    bob_c = await _client(live, bob)
    assert await asyncio.to_thread(bob_c.inbox) == []  # nothing was changed by a refusal
    got, _ = await _post(live, bob_c.http.token or "", tip_id, item(good))
    assert got == 404  # not bob's tip to hand off

    # A non-recipient on the tip (carol, put on it without the message's key) cannot grant it.
    carol_id = _query(live, "SELECT id FROM advocates WHERE name = 'carol'")[0][0]
    conn = sqlite3.connect(live.instance.root / "hotline.db")
    conn.execute("INSERT INTO tip_advocates VALUES (?, ?)", (tip_id, carol_id))
    conn.commit()
    conn.close()
    carol_c = await _client(live, carol)
    forged = _forge(ctx, C, carol.fingerprint, bob, carol)
    got, answer = await _post(live, carol_c.http.token or "", tip_id, item(forged))
    assert got == 403 and "never sealed or granted to you" in answer["error"]

    # The genuine grant goes in once; the same grant again is a replay.
    assert (await _post(live, token, tip_id, item(good)))[0] == 200
    got, answer = await _post(live, token, tip_id, item(good))
    assert got == 409 and "replayed" in answer["error"]
    assert _query(live, "SELECT COUNT(*) FROM grants") == [(1,)]
    assert _stored(live) == before


def _plant_grant(live: Live, tip_id: str, message_id: str, blob: bytes, grantee: str,
                 grantor: str) -> None:
    """What a malicious server (or a bug) could store: any grant row, wrapped properly."""
    with offline_keys(live.instance.root / "secrets" / "keystore.db") as keys:
        key = keys.get(tip_id)
    assert key is not None
    conn = sqlite3.connect(live.instance.root / "hotline.db")
    conn.execute("INSERT INTO grants (tip_id, message_id, grantee, grantor, created_at, grant_blob)"
                 " VALUES (?,?,?,?,?,?)", (tip_id, message_id, grantee, grantor, "2026-01-01",
                                           wrap(key, blob, label=grant_label(tip_id))))
    bob_id = conn.execute("SELECT id FROM advocates WHERE name = 'bob'").fetchone()[0]
    conn.execute("INSERT OR IGNORE INTO tip_advocates VALUES (?, ?)", (tip_id, bob_id))
    conn.commit()
    conn.close()


@pytest.mark.parametrize("kind", ["liar", "outsider", "other-message", "garbage"])
async def test_readers_refuse_bad_grants_a_server_stored(
        live: Live, browser: Browser, kind: str) -> None:
    tip_id = await _tip(live, browser, "the truth")
    alice_i, bob = live.instance.alice, live.instance.bob
    alice = await _client(live, alice_i)
    m = (await asyncio.to_thread(alice.http.get_json, f"/api/tips/{tip_id}"))["messages"][0]
    raw = base64.b64decode(m["envelope"])
    header = read_header(raw)
    srv = Identity.generate("srv")
    add_advocate(live.instance.root, srv.public, name="srv", role=Role.ADVOCATE)
    # A second message with different words, to try to pass its key off for the first.
    fake = seal(header.context, b'{"text": "false alarm"}', [alice_i.recipient()])
    blob = {
        # alice (entitled) signs a grant of another key under the right commitment
        "liar": _forge(header.context, header.commitment, alice_i.fingerprint, bob, alice_i,
                       key=fake.message_key),
        # someone who never had the message (a key the server registered) grants it
        "outsider": _forge(header.context, header.commitment, srv.fingerprint, bob, srv,
                           key=fake.message_key),
        # alice's genuine grant of another message's key
        "other-message": make_grant(open_envelope(fake.envelope, alice_i), alice_i,
                                    bob.recipient()),
        "garbage": b"HLGR\x01\x01" + os.urandom(300),
    }[kind]
    _plant_grant(live, tip_id, m["id"], blob, bob.fingerprint,
                 srv.fingerprint if kind == "outsider" else alice_i.fingerprint)
    bob_c = await _client(live, bob)
    [shown] = (await asyncio.to_thread(bob_c.read, tip_id)).messages
    reason = {"liar": "key commitment mismatch", "outsider": "never given this message",
              "other-message": "another key", "garbage": "no valid key grant"}[kind]
    assert shown["body"] is None and reason in shown["error"], shown
    out = json.loads((await asyncio.to_thread(
        run_cli, "read", tip_id, "--server", live.url, "--key",
        str(live.instance.key_file("bob")), "--json")).stdout)
    assert out["messages"][0]["body"] is None and "false alarm" not in json.dumps(out)


async def test_notes_from_someone_else_are_flagged_in_the_cli(live: Live, browser: Browser) -> None:
    """A body claiming another author, or a signature by a different key, is never
    shown as that author: unsigned bodies are labelled, bad signatures flagged."""
    tip_id = await _tip(live, browser)
    alice_i, bob = live.instance.alice, live.instance.bob
    alice = await _client(live, alice_i)
    await asyncio.to_thread(handoff, alice, tip_id, await asyncio.to_thread(
        find_colleague, alice, "bob"), bob.fingerprint)
    bob_c = await _client(live, bob)
    await asyncio.to_thread(alice.send, tip_id, "I spoke to her, she is safe", note=True)
    r = await asyncio.to_thread(bob_c.http.get_json, f"/api/tips/{tip_id}/recipients")
    from hotline.client.advocate import _verified
    recipients = [_verified(r["recovery"]), *(_verified(a) for a in r["advocates"])]

    def post_note(body_for: object) -> str:
        mid = new_message_id()
        ctx = EnvelopeContext(r["instance_id"], tip_id, mid, "note", r["channel"])
        body = body_for(ctx) if callable(body_for) else body_for
        env = seal(ctx, body, recipients).envelope
        bob_c.http.post_json(f"/api/tips/{tip_id}/messages",
                             {"id": mid, "direction": "note", "envelope": _b64(env)})
        return mid

    claims_alice = json.dumps({"v": 1, "text": "false alarm, close it", "author":
                               alice_i.fingerprint, "author_name": "alice"}).encode()
    unsigned = await asyncio.to_thread(post_note, claims_alice)
    signed_by_bob = await asyncio.to_thread(post_note, lambda ctx: signed_body(
        "false alarm, close it", alice_i.fingerprint, sign_message(bob, ctx, "false alarm, close it")))
    replayed = await asyncio.to_thread(post_note, lambda ctx: signed_body(
        "I spoke to her, she is safe", alice_i.fingerprint,
        sign_message(alice_i, EnvelopeContext(ctx.instance_id, ctx.tip_id, "m" + "a" * 26,
                                              ctx.direction, ctx.channel),
                     "I spoke to her, she is safe")))
    out = json.loads((await asyncio.to_thread(
        run_cli, "read", tip_id, "--server", live.url, "--key",
        str(live.instance.key_file("alice")), "--json")).stdout)
    by_id = {m["id"]: m for m in out["messages"]}
    assert by_id[unsigned]["signature"] == {
        "status": "unsigned", "label": "unsigned (written before signatures)",
        "fingerprint": None, "name": None}
    for mid in (signed_by_bob, replayed):
        assert by_id[mid]["signature"]["status"] == "invalid"
        assert by_id[mid]["signature"]["name"] is None
        assert by_id[mid]["signature"]["label"].startswith("NOT VERIFIED")
    genuine = [m for m in out["messages"] if m["body"] == "I spoke to her, she is safe"
               and m["id"] != replayed]
    assert genuine[0]["signature"]["status"] == "verified"
    assert genuine[0]["signature"]["name"] == "alice"
    assert out["messages"][0]["signature"] is None  # the reporter's words: no author key
    text = (await asyncio.to_thread(run_cli, "read", tip_id, "--server", live.url, "--key",
                                    str(live.instance.key_file("alice")))).stdout
    assert "author: unsigned (written before signatures)" in text
    assert text.count("author: NOT VERIFIED") == 2 and "author: alice (" in text


async def test_client_handoff_refuses_an_unconfirmed_key(live: Live, browser: Browser) -> None:
    tip_id = await _tip(live, browser)
    alice = await _client(live, live.instance.alice)
    colleague = await asyncio.to_thread(find_colleague, alice, "bob")
    with pytest.raises(ClientError, match="hand-off refused"):
        await asyncio.to_thread(handoff, alice, tip_id, colleague, "ZZZZ-" + colleague.fingerprint[5:])
    with pytest.raises(ClientError, match="no active advocate"):
        await asyncio.to_thread(find_colleague, alice, "mallory")


async def test_shredding_a_tip_takes_its_grants_with_it(live: Live, browser: Browser) -> None:
    from hotline.ops.shred import Deletion, shred
    from tests.ops.helpers import holders, instance_bytes

    tip_id = await _tip(live, browser)
    alice = await _client(live, live.instance.alice)
    await asyncio.to_thread(handoff, alice, tip_id, await asyncio.to_thread(
        find_colleague, alice, "bob"), live.instance.bob.fingerprint)
    [(blob,)] = _query(live, "SELECT grant_blob FROM grants WHERE tip_id = ?", (tip_id,))
    needles = [bytes(blob)[8:40], bytes(blob)[-32:]]  # type: ignore[arg-type]
    assert all(holders(instance_bytes(live.instance.root), n) for n in needles)
    s = live.services
    await shred(s.db, s.keystore, [Deletion(tip_id, "admin")], actor="test")
    assert _query(live, "SELECT COUNT(*) FROM grants") == [(0,)]
    files = instance_bytes(live.instance.root)
    assert [holders(files, n) for n in needles] == [[], []]
