"""The advocate/admin JSON API. Envelopes only: the server never opens one.

Every tip route checks that the advocate is on the tip (sealed to it);
every fetch of an envelope is audited. A client-made envelope is checked
against the tip before it is stored: right instance, tip, fresh message id,
direction, channel, and the recipients policy (the recovery key always; the
reporter's receipt key on a web reply and never on a note).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from aiohttp import web

from crypto import CryptoError, EnvelopeHeader, read_header, unwrap, wrap

from ..deletion import request_state
from ..domain import Channel, Direction, Role, Status, Urgency, is_valid_message_id
from ..errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
)
from ..intake import THREAD_LABEL
from ..paging.acknowledge import ack_by_api
from ..services import SERVICES, Services
from ..store import queries as q
from ..store.grants import tip_grants
from ..store.reply_keys import ReporterKey, reporter_key
from ..twilio.outbox import Delivery, SmsOutbox
from . import inbox
from .auth import Advocate
from .common import authed, b64, b64_field, current_advocate, field, json_body, tip_row
from .outgoing import seal_outgoing_text


def add_routes(app: web.Application) -> None:
    """This module's routes; ``setup.setup_api`` adds them with the other API modules'."""
    r = app.router
    r.add_post("/api/auth/challenge", challenge)
    r.add_post("/api/auth/token", token)
    r.add_post("/api/auth/logout", logout)
    r.add_get("/api/me", authed(me))
    r.add_get("/api/tips", authed(list_tips))
    r.add_get("/api/tips/{tip}", authed(get_tip))
    r.add_get("/api/tips/{tip}/recipients", authed(tip_recipients))
    r.add_get("/api/tips/{tip}/messages/{message}/attachments/{part}", authed(get_attachment))
    r.add_post("/api/tips/{tip}/messages", authed(post_message))
    r.add_post("/api/tips/{tip}/triage", authed(triage))
    r.add_post("/api/tips/{tip}/ack", authed(ack))
    r.add_get("/api/admin/advocates", authed(list_advocates, Role.ADMIN))
    r.add_get("/api/admin/audit", authed(audit_log, Role.ADMIN))


# -- login ---------------------------------------------------------------------

async def challenge(request: web.Request) -> web.Response:
    data = await json_body(request)
    c = request.app[SERVICES].auth.challenge(field(data, "fingerprint", str)[:100])
    return web.json_response({"nonce": b64(c.nonce), "expires_at": c.expires_at,
                              "origin": c.origin, "instance_id": c.instance_id})


async def token(request: web.Request) -> web.Response:
    data = await json_body(request)
    tok, expires, advocate = await request.app[SERVICES].auth.login(
        field(data, "fingerprint", str), b64_field(data, "nonce"),
        field(data, "expires_at", int), b64_field(data, "signature"),
        field(data, "origin", str) if "origin" in data else None)
    return web.json_response({"token": tok, "expires_at": expires, "role": advocate.role.value,
                              "name": advocate.name, "fingerprint": advocate.fingerprint})


async def logout(request: web.Request) -> web.Response:
    """Revoke the bearer token presented (idempotent; an unknown token is already gone)."""
    await request.app[SERVICES].auth.logout(request.headers.get("Authorization"))
    return web.json_response({"logged_out": True})


async def me(request: web.Request) -> web.Response:
    a = current_advocate(request)
    return web.json_response({"name": a.name, "fingerprint": a.fingerprint, "role": a.role.value})


# -- tips ----------------------------------------------------------------------

def _tip_json(row: sqlite3.Row) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "ref", "channel", "urgency", "urgency_source", "status",
                                "created_at", "updated_at", "acked_at", "message_count",
                                "acked_by")}


async def list_tips(request: web.Request) -> web.Response:
    a = current_advocate(request)
    return await inbox.list_tips(request, a.id, a.fingerprint)


async def get_tip(request: web.Request) -> web.Response:
    s, a = request.app[SERVICES], current_advocate(request)
    tip_id = request.match_info["tip"]
    tip = await tip_row(s, a, tip_id)
    key = await s.keystore.get(tip_id)
    if key is None:
        raise NotFound("this tip has been deleted")
    rows = await s.db.fetchall(
        "SELECT m.id, m.seq, m.direction, m.channel, m.created_at, m.urgency, m.ruleset_version,"
        " m.envelope, adv.fingerprint AS author, o.status AS delivery_status,"
        " o.attempts AS delivery_attempts, o.error AS delivery_error FROM messages m"
        " LEFT JOIN advocates adv ON adv.id = m.author_id"
        " LEFT JOIN sms_outbox o ON o.message_id = m.id WHERE m.tip_id = ? ORDER BY m.seq",
        (tip_id,))
    parts = await s.db.fetchall(
        "SELECT a.message_id, a.part, a.size FROM attachments a JOIN messages m"
        " ON m.id = a.message_id WHERE m.tip_id = ? ORDER BY a.part", (tip_id,))
    by_message: dict[str, list[dict[str, int]]] = {}
    for p in parts:
        by_message.setdefault(p["message_id"], []).append({"part": p["part"], "size": p["size"]})
    grants = await tip_grants(s.db, key, tip_id)
    # Each message's own channel (the one bound into its envelope): a tip that
    # began as a text and went on as a call holds both.
    messages = [{
        "id": r["id"], "seq": r["seq"], "direction": r["direction"],
        "channel": r["channel"] or tip["channel"], "created_at": r["created_at"], "urgency": r["urgency"],
        "ruleset_version": r["ruleset_version"], "author": r["author"],
        "envelope": b64(unwrap(key, bytes(r["envelope"]), label=tip_id)),
        "attachments": by_message.get(r["id"], []),
        "grants": [b64(g) for g in grants.get(r["id"], [])],
        "delivery": None if r["delivery_status"] is None else {
            "status": r["delivery_status"], "attempts": r["delivery_attempts"],
            "error": r["delivery_error"]},
    } for r in rows]
    await s.db.write(lambda c: q.audit(c, a.fingerprint, "tip.fetch", tip_id,
                                       f"messages={len(messages)}"))
    deletion = await request_state(s.db, tip_id)
    return web.json_response({**_tip_json(tip), "instance_id": s.instance_id,
                              "messages": messages, "keys": await signer_keys(s, tip_id),
                              "deletion": deletion.as_json() if deletion else None})


async def signer_keys(s: Services, tip_id: str) -> list[dict[str, Any]]:
    """Self-signed public keys of everyone who may have signed something on this tip:
    its advocates, every author and grantor (removed ones too, so their old words still
    verify), and the recovery key. Readers verify each file on the device."""
    rows = await s.db.fetchall(
        "SELECT name, fingerprint, pub_file, active FROM advocates WHERE"
        " id IN (SELECT advocate_id FROM tip_advocates WHERE tip_id = ?)"
        " OR id IN (SELECT author_id FROM messages WHERE tip_id = ?)"
        " OR fingerprint IN (SELECT grantor FROM grants WHERE tip_id = ?) ORDER BY id",
        (tip_id, tip_id, tip_id))
    keys = [{"name": r["name"], "fingerprint": r["fingerprint"], "active": bool(r["active"]),
             "pub_file": b64(bytes(r["pub_file"])), "role": "advocate"} for r in rows]
    keys.append({"name": s.recovery.name, "fingerprint": s.recovery.fingerprint, "active": True,
                 "pub_file": b64(s.recovery.to_pub_file()), "role": "recovery"})
    return keys


MAX_PART_DIGITS = 6


async def get_attachment(request: web.Request) -> web.Response:
    s, a = request.app[SERVICES], current_advocate(request)
    tip_id, message_id = request.match_info["tip"], request.match_info["message"]
    await tip_row(s, a, tip_id)
    raw_part = request.match_info["part"]
    # ASCII digits and a bound: int() reads '１', and past 2**63 the SQL bind fails.
    if not (raw_part.isascii() and raw_part.isdigit() and len(raw_part) <= MAX_PART_DIGITS):
        raise NotFound("no such attachment")
    part = int(raw_part)
    row = await s.db.fetchone(
        "SELECT a.blob FROM attachments a JOIN messages m ON m.id = a.message_id"
        " WHERE m.tip_id = ? AND a.message_id = ? AND a.part = ?", (tip_id, message_id, part))
    if row is None:
        raise NotFound("no such attachment")
    await s.db.write(lambda c: q.audit(c, a.fingerprint, "attachment.fetch", tip_id,
                                       f"message={message_id} part={part}"))
    return web.Response(body=bytes(row["blob"]), content_type="application/octet-stream")


async def tip_recipients(request: web.Request) -> web.Response:
    """Whom a new advocate message on this tip must be sealed to."""
    s, a = request.app[SERVICES], current_advocate(request)
    tip_id = request.match_info["tip"]
    tip = await tip_row(s, a, tip_id)
    advocates = await s.db.fetchall(
        "SELECT a.name, a.fingerprint, a.pub_file FROM tip_advocates t JOIN advocates a"
        " ON a.id = t.advocate_id WHERE t.tip_id = ? AND a.active = 1 ORDER BY a.id", (tip_id,))
    reply = await _reporter(s, tip_id)
    reporter = None
    if reply is not None:
        reporter = {"fingerprint": reply.fingerprint, "box_public": b64(reply.box_public)}
    return web.json_response({
        "instance_id": s.instance_id,
        "channel": new_message_channel(tip),
        "recovery": {"fingerprint": s.recovery.fingerprint,
                     "pub_file": b64(s.recovery.to_pub_file())},
        "advocates": [{"name": r["name"], "fingerprint": r["fingerprint"],
                       "pub_file": b64(bytes(r["pub_file"]))} for r in advocates],
        "reporter": reporter,
    })


def new_message_channel(tip: sqlite3.Row) -> str:
    """The channel an advocate's new message on this tip is sealed with and stored under.

    A reply travels the way the tip's reporter is answered (the web follow-up
    page, or a text on the tip's texting channel); a note goes nowhere and
    takes the same. Older messages keep their own channels (``messages.channel``).
    """
    return str(tip["channel"])


async def _reporter(s: Services, tip_id: str) -> ReporterKey | None:
    """The reporter's reply key, unwrapped with the tip's storage key (store/reply_keys.py)."""
    try:
        return await reporter_key(s.db, s.keystore.get, tip_id)
    except CryptoError:
        raise ServiceUnavailable("this tip's reply key does not open with its storage key") from None


def _check_envelope(header: EnvelopeHeader, s: Services, tip: sqlite3.Row, message_id: str,
                    direction: Direction, author: Advocate, reporter: str | None) -> None:
    ctx = header.context
    if (ctx.instance_id, ctx.tip_id, ctx.message_id) != (s.instance_id, tip["id"], message_id):
        raise BadRequest("the envelope is bound to another instance, tip or message")
    if ctx.direction != direction.value or ctx.channel != new_message_channel(tip):
        raise BadRequest("the envelope's direction or channel does not match")
    recipients = set(header.recipients)
    if s.recovery.fingerprint not in recipients:
        raise BadRequest("the envelope must be sealed to the recovery key")
    if author.fingerprint not in recipients:
        raise BadRequest("the envelope must be sealed to its author")
    if direction is Direction.NOTE and reporter is not None and reporter in recipients:
        raise BadRequest("a private note must not be sealed to the reporter")
    if direction is Direction.OUT and tip["channel"] == Channel.WEB.value \
            and reporter not in recipients:
        raise BadRequest("a reply must be sealed to the reporter's receipt key")


async def post_message(request: web.Request) -> web.Response:
    s, a = request.app[SERVICES], current_advocate(request)
    tip_id = request.match_info["tip"]
    tip = await tip_row(s, a, tip_id)
    data = await json_body(request)
    message_id = field(data, "id", str)
    if not is_valid_message_id(message_id):
        raise BadRequest("'id' is not a message id")
    try:
        direction = Direction(field(data, "direction", str))
    except ValueError:
        raise BadRequest("'direction' must be 'out' or 'note'") from None
    if direction is Direction.IN:
        raise BadRequest("'direction' must be 'out' or 'note'")
    texting = direction is Direction.OUT and tip["channel"] in _TEXT_CHANNELS
    if direction is Direction.OUT and tip["channel"] not in (Channel.WEB.value, *_TEXT_CHANNELS):
        raise Conflict("replies on this channel are not available yet")
    if not texting and ("to" in data or "text" in data or "signature" in data):
        raise BadRequest("only SMS/WhatsApp replies carry 'to', 'text' and 'signature'; "
                         "this one travels sealed")
    outgoing = await _outgoing_text(s, tip_id, data) if texting else None
    if outgoing is not None:
        envelope = await seal_outgoing_text(s, tip, message_id, a, outgoing[2], data)
    else:
        envelope = b64_field(data, "envelope")
    try:
        header = read_header(envelope)
    except CryptoError as e:
        raise BadRequest(f"the envelope is malformed: {e}") from None
    reply = await _reporter(s, tip_id)
    _check_envelope(header, s, tip, message_id, direction, a,
                    reply.fingerprint if reply is not None else None)
    key = await s.keystore.get(tip_id)
    if key is None:
        raise NotFound("this tip has been deleted")
    row = q.NewMessage(id=message_id, tip_id=tip_id, direction=direction.value,
                       created_at=q.utc_now_text(), author_id=a.id,
                       envelope=wrap(key, envelope, label=tip_id), channel=header.context.channel)

    def store(conn: sqlite3.Connection) -> int:
        if conn.execute("SELECT 1 FROM messages WHERE id = ?", (message_id,)).fetchone():
            raise Conflict("a message with this id already exists")
        seq = q.insert_message(conn, row)
        if tip["status"] == Status.NEW.value:
            conn.execute("UPDATE tips SET status = 'in_progress' WHERE id = ?", (tip_id,))
        conn.execute("UPDATE tips SET updated_at = ? WHERE id = ?", (row.created_at, tip_id))
        q.audit(conn, a.fingerprint, f"message.{direction.value}", tip_id, f"message={message_id}")
        if outgoing is not None:
            outgoing[0].record_pending(conn, tip_id, message_id)
        return seq

    seq = await s.db.write(store)
    answer: dict[str, Any] = {"id": message_id, "seq": seq}
    if outgoing is not None:  # stored first; the number and text are used here and forgotten
        outbox, to, text = outgoing
        delivery: Delivery = await outbox.send(tip_id, message_id, to, text)
        answer["delivery"] = delivery.as_json()
    return web.json_response(answer, status=201)


_TEXT_CHANNELS = (Channel.SMS.value, Channel.WHATSAPP.value)
MAX_SMS_CHARS = 1600  # Twilio's limit for one (concatenated) message


async def _outgoing_text(s: Services, tip_id: str,
                         data: dict[str, Any]) -> tuple[SmsOutbox, str, str]:
    """The number and text of an SMS reply, checked against the tip (CRYPTO.md §8).

    The number comes from the advocate's device; its keyed hash must be the
    tip's thread hash, so the API cannot be used to text anyone else.
    """
    if s.twilio is None or not s.config["twilio.number"]:
        raise ServiceUnavailable("Twilio is not configured: set HOTLINE_TWILIO_ACCOUNT_SID, "
                                 "HOTLINE_TWILIO_AUTH_TOKEN and HOTLINE_TWILIO_NUMBER")
    to, text = field(data, "to", str), field(data, "text", str)
    if not text.strip() or len(text) > MAX_SMS_CHARS:
        raise BadRequest(f"'text' must have 1 to {MAX_SMS_CHARS} characters")
    row = await s.db.fetchone("SELECT thread_hash FROM tips WHERE id = ?", (tip_id,))
    thread = None if row is None or row["thread_hash"] is None else bytes(row["thread_hash"])
    if thread is None or thread not in s.secret.hashes(THREAD_LABEL, to.encode()):
        raise Forbidden("'to' is not the number of this conversation")
    return s.twilio.outbox, to, text


async def triage(request: web.Request) -> web.Response:
    s, a = request.app[SERVICES], current_advocate(request)
    tip_id = request.match_info["tip"]
    tip = await tip_row(s, a, tip_id)
    data = await json_body(request)
    urgency = status = None
    try:
        if "urgency" in data:
            urgency = Urgency.parse(field(data, "urgency", str))
        if "status" in data:
            status = Status(field(data, "status", str))
    except ValueError as e:
        raise BadRequest(str(e)) from None
    if urgency is None and status is None:
        raise BadRequest("give 'urgency' and/or 'status'")
    feedback = _feedback(data.get("feedback")) if urgency is not None else None

    def store(conn: sqlite3.Connection) -> None:
        now = q.utc_now_text()
        if urgency is not None:
            conn.execute("UPDATE tips SET urgency = ?, urgency_source = 'advocate',"
                         " updated_at = ? WHERE id = ?", (urgency.value, now, tip_id))
            q.audit(conn, a.fingerprint, "tip.urgency", tip_id,
                    f"from={tip['urgency']} to={urgency.value}")
            if feedback is not None:
                rule_ids, rules_urgency, version = feedback
                conn.execute(
                    "INSERT INTO rule_feedback (day, ruleset_version, rule_ids, rules_urgency,"
                    " advocate_urgency) VALUES (?,?,?,?,?)",
                    (now[:10], version, ",".join(rule_ids), rules_urgency.value, urgency.value))
        if status is not None:
            conn.execute("UPDATE tips SET status = ?, updated_at = ? WHERE id = ?",
                         (status.value, now, tip_id))
            q.audit(conn, a.fingerprint, "tip.status", tip_id,
                    f"from={tip['status']} to={status.value}")

    await s.db.write(store)
    return web.json_response(_tip_json(await tip_row(s, a, tip_id)))


_RULE_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")


def _feedback(value: Any) -> tuple[tuple[str, ...], Urgency, str] | None:
    """Rule ids and the rules' urgency, from the advocate's decrypted copy; ids only."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("'feedback' must be an object")
    rules = value.get("rules")
    if (not isinstance(rules, list) or len(rules) > 200
            or not all(isinstance(r, str) and 0 < len(r) <= 100 and set(r) <= _RULE_ID_CHARS
                       for r in rules)):
        raise BadRequest("'feedback.rules' must be a list of rule ids")
    version = value.get("ruleset_version")
    if not isinstance(version, str) or not 0 < len(version) <= 64 or not version.isascii():
        raise BadRequest("'feedback.ruleset_version' is missing or malformed")
    try:
        rules_urgency = Urgency.parse(field(value, "rules_urgency", str))
    except ValueError as e:
        raise BadRequest(str(e)) from None
    return tuple(sorted(set(rules))), rules_urgency, version


async def ack(request: web.Request) -> web.Response:
    s, a = request.app[SERVICES], current_advocate(request)
    tip_id = request.match_info["tip"]
    await tip_row(s, a, tip_id)

    await ack_by_api(s.db, s.metrics, tip_id, a.id, a.fingerprint)
    return web.json_response(_tip_json(await tip_row(s, a, tip_id)))


# -- admin -----------------------------------------------------------------------

async def list_advocates(request: web.Request) -> web.Response:
    rows = await request.app[SERVICES].db.fetchall(
        "SELECT name, fingerprint, role, active, created_at FROM advocates ORDER BY id")
    return web.json_response({"advocates": [dict(r) for r in rows]})


async def audit_log(request: web.Request) -> web.Response:
    tip = request.query.get("tip")
    sql = "SELECT at, actor, action, tip_id, detail FROM audit"
    rows = await request.app[SERVICES].db.fetchall(
        sql + (" WHERE tip_id = ? ORDER BY id" if tip else " ORDER BY id DESC LIMIT 500"),
        (tip,) if tip else ())
    return web.json_response({"events": [dict(r) for r in rows]})
