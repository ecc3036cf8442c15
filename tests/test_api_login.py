"""Login that cannot be locked or probed: stateless challenges, one answer for every refusal,
no replay of a captured signature, and a token that dies when the console locks."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import aiohttp

from crypto import Identity, sign_login
from tests.conftest import Live


async def _post(s: aiohttp.ClientSession, live: Live, path: str, body: dict[str, Any],
                token: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with s.post(live.url + path, json=body, headers=headers) as r:
        return r.status, await r.json()


async def _signed(s: aiohttp.ClientSession, live: Live, who: Identity,
                  fingerprint: str | None = None) -> dict[str, Any]:
    """A challenge for ``fingerprint`` (default: the key's own) answered with ``who``'s key."""
    fp = fingerprint or who.fingerprint
    _, c = await _post(s, live, "/api/auth/challenge", {"fingerprint": fp})
    sig = sign_login(who, live.url, c["instance_id"], fp, base64.b64decode(c["nonce"]),
                     c["expires_at"])
    return {"fingerprint": fp, "nonce": c["nonce"], "expires_at": c["expires_at"],
            "signature": base64.b64encode(sig).decode()}


async def test_a_flood_of_challenges_locks_nobody_out(live: Live) -> None:
    """10,000 unanswered challenges filled the old global pending pool for a minute."""
    sem = asyncio.Semaphore(32)
    async with aiohttp.ClientSession() as s:
        async def ask(i: int) -> int:
            async with sem:
                status, _ = await _post(s, live, "/api/auth/challenge", {"fingerprint": f"x{i}"})
                return status

        statuses = await asyncio.gather(*(ask(i) for i in range(10_001)))
        assert set(statuses) == {200}
        status, body = await _post(s, live, "/api/auth/token", await _signed(s, live, live.instance.alice))
        assert status == 200, body
        assert body["fingerprint"] == live.instance.alice.fingerprint


async def test_unknown_and_wrong_keys_get_the_same_answer(live: Live) -> None:
    stranger = Identity.generate("stranger")
    async with aiohttp.ClientSession() as s:
        unknown = await _post(s, live, "/api/auth/token", await _signed(s, live, stranger))
        # alice's fingerprint, signed by someone else's key
        wrong = await _post(s, live, "/api/auth/token",
                            await _signed(s, live, stranger, live.instance.alice.fingerprint))
    assert unknown[0] == wrong[0] == 401
    assert unknown[1] == wrong[1]
    assert "not registered on this server, or its signature does not match" in unknown[1]["error"]


async def test_a_used_or_forged_challenge_is_refused(live: Live) -> None:
    alice = live.instance.alice
    async with aiohttp.ClientSession() as s:
        login = await _signed(s, live, alice)
        status, _ = await _post(s, live, "/api/auth/token", login)
        assert status == 200
        replay = await _post(s, live, "/api/auth/token", login)
        assert replay[0] == 401 and "unknown, used or expired" in replay[1]["error"]

        fresh = await _signed(s, live, alice)
        nonce = bytearray(base64.b64decode(fresh["nonce"]))
        nonce[-1] ^= 1  # a nonce the server never issued
        forged = {**fresh, "nonce": base64.b64encode(bytes(nonce)).decode()}
        assert (await _post(s, live, "/api/auth/token", forged))[0] == 401
        later = {**fresh, "expires_at": fresh["expires_at"] + 3600}  # a longer life than issued
        assert (await _post(s, live, "/api/auth/token", later))[0] == 401
        other = {**fresh, "fingerprint": live.instance.bob.fingerprint}  # issued for alice
        assert (await _post(s, live, "/api/auth/token", other))[0] == 401
        # none of these used the genuine challenge up: it still works, once
        assert (await _post(s, live, "/api/auth/token", fresh))[0] == 200


async def test_logout_revokes_the_token_on_the_server(live: Live) -> None:
    async with aiohttp.ClientSession() as s:
        _, t = await _post(s, live, "/api/auth/token", await _signed(s, live, live.instance.alice))
        headers = {"Authorization": f"Bearer {t['token']}"}
        async with s.get(live.url + "/api/me", headers=headers) as r:
            assert r.status == 200
        assert (await _post(s, live, "/api/auth/logout", {}, t["token"]))[0] == 200
        async with s.get(live.url + "/api/me", headers=headers) as r:
            assert r.status == 401
        assert (await _post(s, live, "/api/auth/logout", {}, t["token"]))[0] == 200  # idempotent


async def _signed_at(s: aiohttp.ClientSession, url: str, who: Identity, origin: str,
                     fingerprint: str | None = None) -> dict[str, Any]:
    """A login signed for ``origin`` (the address the client is at), saying so."""
    fp = fingerprint or who.fingerprint
    async with s.post(url + "/api/auth/challenge", json={"fingerprint": fp}) as r:
        c = await r.json()
    sig = sign_login(who, origin, c["instance_id"], fp, base64.b64decode(c["nonce"]),
                     c["expires_at"])
    return {"fingerprint": fp, "nonce": c["nonce"], "expires_at": c["expires_at"],
            "signature": base64.b64encode(sig).decode(), "origin": origin}


async def test_a_login_signed_at_another_address_says_which_to_use(live: Live) -> None:
    """localhost vs 127.0.0.1: the refusal names the addresses and the setting, for any key."""
    other = live.url.replace("127.0.0.1", "localhost")
    stranger = Identity.generate("stranger")
    async with aiohttp.ClientSession() as s:
        alice = await _post(s, live, "/api/auth/token",
                            await _signed_at(s, live.url, live.instance.alice, other))
        unknown = await _post(s, live, "/api/auth/token",
                              await _signed_at(s, live.url, stranger, other))
        right = await _post(s, live, "/api/auth/token",
                            await _signed_at(s, live.url, live.instance.alice, live.url))
    assert alice[0] == unknown[0] == 401
    assert alice[1] == unknown[1]  # the address is wrong whoever asks: nothing about keys
    assert f"signs advocates in at {live.url}, not at {other}" in alice[1]["error"]
    assert "service.extra_origins" in alice[1]["error"]
    assert right[0] == 200, right


async def test_an_operator_listed_origin_signs_in(tmp_path: Any) -> None:
    """``service.extra_origins`` (e.g. the onion address) is accepted, and only what is listed."""
    from aiohttp.test_utils import TestServer

    from hotline.app import make_app
    from tests.conftest import free_port
    from tests.helpers.instance import make_instance

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    inst = make_instance(tmp_path, public_url=url)
    onion = "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion"
    server = TestServer(make_app(inst.root, env={"HOTLINE_EXTRA_ORIGINS": onion.upper()}),
                        host="127.0.0.1", port=port)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as s:
            async with s.post(url + "/api/auth/token",
                              json=await _signed_at(s, url, inst.alice, onion)) as r:
                assert r.status == 200, await r.text()
            # signed for the onion but claiming the public URL: the signature does not match
            forged = await _signed_at(s, url, inst.alice, onion)
            forged["origin"] = url
            async with s.post(url + "/api/auth/token", json=forged) as r:
                assert r.status == 401
                assert "not registered on this server, or its signature" in (await r.json())["error"]
    finally:
        await server.close()
