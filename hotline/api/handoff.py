"""Hand-off: an advocate shares a tip's messages with a colleague by adding key grants.

A stored envelope is never replaced or deleted here (only retention and
shredding remove one). The advocate's device opens each message, seals its
key to the colleague and signs that as a grant (``crypto.make_grant``); this
route checks everything it can see without a key and adds the grants beside
the envelopes, then puts the colleague on the tip so later messages are
sealed to them too. All in one transaction: one bad grant refuses the whole
hand-off and changes nothing.

What the server checks, per grant: it parses; it is for this message of this
tip (context) and this message's key (the commitment in the stored header);
it is signed by the advocate making the request, with the key registered for
them; that advocate could read the message (a recipient in its header, or the
grantee of an earlier grant); it is sealed to the colleague named in the
request, who cannot read it yet (a repeated or replayed grant is refused).
What it cannot check is that the sealed key really is the message key: only
the colleague's device can, and readers refuse a key that does not match the
envelope's commitment (crypto/SPEC.md §10).

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

from crypto import (
    CryptoError,
    EnvelopeHeader,
    Grant,
    PublicIdentity,
    is_fingerprint,
    parse_grant,
    read_header,
    unwrap,
)

from ..errors import BadRequest, Conflict, Forbidden, NotFound
from ..services import SERVICES
from ..store import queries as q
from ..store.grants import NewGrant, grantees, insert_grants
from .common import authed, current_advocate, field, json_body, tip_row

MAX_GRANT_BYTES = 4096
MAX_GRANTS = 10_000


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


def _grants(data: dict[str, Any]) -> dict[str, tuple[Grant, bytes]]:
    if "envelopes" in data:
        raise BadRequest("a hand-off never replaces a stored envelope: send 'grants' "
                         "(key grants, crypto/SPEC.md §10); update your client")
    items = data.get("grants")
    if not isinstance(items, list) or not items or len(items) > MAX_GRANTS:
        raise BadRequest("'grants' must be a non-empty list of {id, grant}")
    out: dict[str, tuple[Grant, bytes]] = {}
    for item in items:
        if not isinstance(item, dict):
            raise BadRequest("each of 'grants' must be an object with 'id' and 'grant'")
        message_id, raw = field(item, "id", str), field(item, "grant", str)
        if len(raw) > MAX_GRANT_BYTES or message_id in out:
            raise BadRequest("a grant is too large, or a message id appears twice")
        try:
            blob = base64.b64decode(raw.encode("ascii"), validate=True)
            out[message_id] = (parse_grant(blob), blob)
        except (UnicodeEncodeError, binascii.Error):
            raise BadRequest("'grant' is not base64") from None
        except CryptoError as e:
            raise BadRequest(f"a grant is malformed: {e.reason}") from None
    return out


def check_grant(grant: Grant, header: EnvelopeHeader, *, granter: PublicIdentity,
                colleague: str, can_read: set[str]) -> None:
    """Everything the server can check about one grant without a key (see the module doc)."""
    if grant.grantor != granter.fingerprint:
        raise BadRequest("a grant must be signed by you, the advocate handing off")
    if grant.grantee != colleague:
        raise BadRequest("a grant must be sealed to the colleague named in 'to'")
    try:
        grant.matches(header)
        grant.verify(granter)
    except CryptoError as e:
        raise BadRequest(f"a grant is refused: {e.reason}") from None
    if granter.fingerprint not in can_read:
        raise Forbidden("you cannot grant a message that was never sealed or granted to you")
    if colleague in can_read:
        raise Conflict("the colleague can already read a message (a repeated or replayed grant)")


async def handoff(request: web.Request) -> web.Response:
    s, a = request.app[SERVICES], current_advocate(request)
    tip_id = request.match_info["tip"]
    await tip_row(s, a, tip_id)
    data = await json_body(request)
    to = field(data, "to", str)
    if not is_fingerprint(to):
        raise BadRequest("'to' must be the colleague's fingerprint")
    if to == a.fingerprint:
        raise BadRequest("you cannot hand a tip off to yourself")
    colleague = await s.db.fetchone(
        "SELECT id, name FROM advocates WHERE fingerprint = ? AND active = 1", (to,))
    if colleague is None:
        raise NotFound("no active advocate has this fingerprint")
    grants = _grants(data)
    me = await s.db.fetchone("SELECT pub_file FROM advocates WHERE id = ?", (a.id,))
    granter = PublicIdentity.from_pub_file(bytes(me["pub_file"]))  # type: ignore[index]
    key = await s.keystore.get(tip_id)
    if key is None:
        raise NotFound("this tip has been deleted")

    def store(conn: sqlite3.Connection) -> int:
        for mid, (grant, _) in grants.items():
            row = conn.execute("SELECT envelope FROM messages WHERE id = ? AND tip_id = ?",
                               (mid, tip_id)).fetchone()
            if row is None:
                raise BadRequest("a grant names a message that is not on this tip")
            header = read_header(unwrap(key, bytes(row[0]), label=tip_id))
            check_grant(grant, header, granter=granter, colleague=to,
                        can_read=set(header.recipients) | grantees(conn, mid))
        now = q.utc_now_text()
        insert_grants(conn, key, tip_id, now, [
            NewGrant(mid, g.grantee, g.grantor, blob) for mid, (g, blob) in grants.items()])
        conn.execute("INSERT INTO tip_advocates (tip_id, advocate_id) VALUES (?,?) ON CONFLICT DO NOTHING",
                     (tip_id, colleague["id"]))
        total = conn.execute("SELECT COUNT(*) FROM messages WHERE tip_id = ?", (tip_id,)).fetchone()
        conn.execute("UPDATE tips SET updated_at = ? WHERE id = ?", (now, tip_id))
        q.audit(conn, a.fingerprint, "tip.handoff", tip_id,
                f"to={to} granted={len(grants)}/{total[0]}")
        return int(total[0])

    total = await s.db.write(store)
    return web.json_response({"tip": tip_id, "to": {"name": colleague["name"], "fingerprint": to},
                              "granted": len(grants), "messages": total})
