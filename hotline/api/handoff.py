"""Hand-off: an advocate re-seals a tip's messages to a colleague, on their own device.

The server cannot re-seal anything (it holds no key that opens a message), so
the client opens each envelope, seals the same message key to the old
recipients plus the colleague (``crypto.reseal``), and posts the new
envelopes here. The server checks each one as it checks any client envelope
(instance, tip, message id, direction, channel, the recovery key) and, on
top, that the recipient set is exactly the old one plus the colleague: a
hand-off can add one reader and can take no one away. Then the envelopes are
swapped and the colleague is added to the tip, in one transaction.

Which key is the colleague's is decided on the device: the client confirms
the fingerprint out of band (CRYPTO.md §3) and names the colleague here by
that fingerprint, never by a name the server could re-map.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
from typing import Any

from aiohttp import web

from crypto import CryptoError, EnvelopeHeader, is_fingerprint, read_header, unwrap, wrap

from ..app import SERVICES
from ..errors import BadRequest, NotFound
from ..services import Services
from ..store import queries as q
from .routes import _advocate, _field, _json, _tip_row, authed

MAX_ENVELOPE_BYTES = 24 * 1024 * 1024


def setup_handoff(app: web.Application) -> None:
    app.router.add_get("/api/advocates", authed(colleagues))
    app.router.add_post("/api/tips/{tip}/handoff", authed(handoff))


async def colleagues(request: web.Request) -> web.Response:
    """Active advocates and their self-signed public keys; the client verifies them."""
    rows = await request.app[SERVICES].db.fetchall(
        "SELECT name, fingerprint, pub_file FROM advocates WHERE active = 1 ORDER BY name")
    return web.json_response({"advocates": [
        {"name": r["name"], "fingerprint": r["fingerprint"],
         "pub_file": base64.b64encode(bytes(r["pub_file"])).decode()} for r in rows]})


def _envelopes(data: dict[str, Any]) -> dict[str, bytes]:
    items = data.get("envelopes")
    if not isinstance(items, list) or not items or len(items) > 10_000:
        raise BadRequest("'envelopes' must be a non-empty list of {id, envelope}")
    out: dict[str, bytes] = {}
    for item in items:
        if not isinstance(item, dict):
            raise BadRequest("each of 'envelopes' must be an object with 'id' and 'envelope'")
        message_id = _field(item, "id", str)
        raw = _field(item, "envelope", str)
        if len(raw) > MAX_ENVELOPE_BYTES or message_id in out:
            raise BadRequest("an envelope is too large, or a message id appears twice")
        try:
            out[message_id] = base64.b64decode(raw, validate=True)
        except binascii.Error:
            raise BadRequest("'envelope' is not base64") from None
    return out


def _header(envelope: bytes) -> EnvelopeHeader:
    try:
        return read_header(envelope)
    except CryptoError as e:
        raise BadRequest(f"an envelope is malformed: {e}") from None


def check_resealed(new: EnvelopeHeader, old: EnvelopeHeader, *, s: Services, tip: sqlite3.Row,
                   message_id: str, direction: str, colleague: str, keep: set[str]) -> None:
    """The checks of a client envelope, plus: the colleague is added, nobody else is, and
    every old recipient in ``keep`` (recovery, reporter, active advocates) stays.

    Old recipients outside ``keep`` are advocates who have been removed: a
    hand-off may drop them (their keys are no longer served to re-seal to).
    """
    ctx = new.context
    if (ctx.instance_id, ctx.tip_id, ctx.message_id) != (s.instance_id, tip["id"], message_id):
        raise BadRequest("an envelope is bound to another instance, tip or message")
    if ctx != old.context or ctx.direction != direction or ctx.channel != tip["channel"]:
        raise BadRequest("an envelope's direction or channel does not match its message")
    recipients = set(new.recipients)
    if s.recovery.fingerprint not in recipients:
        raise BadRequest("an envelope must be sealed to the recovery key")
    if colleague not in recipients or not recipients <= set(old.recipients) | {colleague}:
        raise BadRequest("a hand-off must add the colleague and nobody else")
    if not set(old.recipients) & keep <= recipients:
        raise BadRequest("a hand-off must keep every current recipient")


async def handoff(request: web.Request) -> web.Response:
    s, a = request.app[SERVICES], _advocate(request)
    tip_id = request.match_info["tip"]
    tip = await _tip_row(s, a, tip_id)
    data = await _json(request)
    to = _field(data, "to", str)
    if not is_fingerprint(to):
        raise BadRequest("'to' must be the colleague's fingerprint")
    if to == a.fingerprint:
        raise BadRequest("you cannot hand a tip off to yourself")
    colleague = await s.db.fetchone(
        "SELECT id, name FROM advocates WHERE fingerprint = ? AND active = 1", (to,))
    if colleague is None:
        raise NotFound("no active advocate has this fingerprint")
    envelopes = _envelopes(data)
    headers = {mid: _header(env) for mid, env in envelopes.items()}
    key = await s.keystore.get(tip_id)
    if key is None:
        raise NotFound("this tip has been deleted")

    def store(conn: sqlite3.Connection) -> int:
        keep = {r[0] for r in conn.execute(
            "SELECT fingerprint FROM advocates WHERE active = 1")} | {s.recovery.fingerprint}
        if tip["reply_fingerprint"]:
            keep.add(tip["reply_fingerprint"])
        for mid, env in envelopes.items():
            row = conn.execute("SELECT direction, envelope FROM messages WHERE id = ? AND tip_id = ?",
                               (mid, tip_id)).fetchone()
            if row is None:
                raise BadRequest("an envelope names a message that is not on this tip")
            old = read_header(unwrap(key, bytes(row[1]), label=tip_id))
            check_resealed(headers[mid], old, s=s, tip=tip, message_id=mid,
                           direction=row[0], colleague=to, keep=keep)
            conn.execute("UPDATE messages SET envelope = ? WHERE id = ?",
                         (wrap(key, env, label=tip_id), mid))
        conn.execute("INSERT OR IGNORE INTO tip_advocates (tip_id, advocate_id) VALUES (?,?)",
                     (tip_id, colleague["id"]))
        total = conn.execute("SELECT COUNT(*) FROM messages WHERE tip_id = ?", (tip_id,)).fetchone()
        conn.execute("UPDATE tips SET updated_at = ? WHERE id = ?", (q.utc_now_text(), tip_id))
        q.audit(conn, a.fingerprint, "tip.handoff", tip_id,
                f"to={to} messages={len(envelopes)}/{total[0]}")
        return int(total[0])

    total = await s.db.write(store)
    return web.json_response({"tip": tip_id, "to": {"name": colleague["name"], "fingerprint": to},
                              "resealed": len(envelopes), "messages": total})


