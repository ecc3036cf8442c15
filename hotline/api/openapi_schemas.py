"""The reusable JSON Schemas of the API contract (``components.schemas``).

Each schema says what the handlers really send and really enforce: the
enums come from ``hotline.domain`` and ``triage_rules``, the bounds from the
constants the handlers check against, so a change there changes the document.
Bodies are metadata and envelopes only; no schema here ever holds report text.
"""

from __future__ import annotations

from typing import Any

from triage_rules import Urgency

from ..domain import Channel, Role, Status
from ..paging.directory import NOTIFIER_KINDS
from .handoff import MAX_GRANT_BYTES, MAX_GRANTS
from .routes import MAX_SMS_CHARS

Schema = dict[str, Any]

TIP_ID = r"^t[a-z2-7]{26}$"
MESSAGE_ID = r"^m[a-z2-7]{26}$"
FINGERPRINT = r"^[A-Z2-7]{4}(?:-[A-Z2-7]{4}){7}$"
REF = r"^[0-9A-Za-z]{3}-[0-9A-Za-z]{3}$"
RULE_ID = r"^[a-z0-9_.-]{1,100}$"
MAX_NOTIFIERS = 8


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None,
        *, closed: bool = False) -> Schema:
    """An object with these fields; responses list every field they send as required."""
    out: Schema = {"type": "object", "properties": {**required, **(optional or {})},
                   "required": list(required)}
    if closed:
        out["additionalProperties"] = False
    return out


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
NUM: Schema = {"type": "number"}
B64: Schema = {"type": "string", "contentEncoding": "base64"}
STAMP: Schema = {"type": "string", "description": "UTC time, ISO 8601"}


def _enum(values: tuple[str, ...] | list[str]) -> Schema:
    return {"type": "string", "enum": list(values)}


URGENCIES = [u.value for u in Urgency]
STATUSES = [s.value for s in Status]
CHANNELS = [c.value for c in Channel]

_TIP_FIELDS: dict[str, Schema] = {
    "id": {"type": "string", "pattern": TIP_ID}, "ref": STR,
    "channel": _enum(CHANNELS), "urgency": _enum(URGENCIES), "urgency_source": STR,
    "status": _enum(STATUSES), "created_at": STAMP, "updated_at": STAMP,
    "acked_at": nullable(STAMP), "message_count": INT,
    "acked_by": nullable({"type": "string", "description": "the advocate's name"}),
}

_DELETION: Schema = obj({
    "state": STR, "via": STR, "requested_at": STAMP, "effective_at": STAMP,
    "held_by": nullable(STR), "held_at": nullable(STAMP), "repeats": INT})

_MESSAGE: Schema = obj({
    "id": {"type": "string", "pattern": MESSAGE_ID}, "seq": INT,
    "direction": _enum(["in", "out", "note"]), "channel": _enum(CHANNELS),
    "created_at": STAMP, "urgency": nullable(STR), "ruleset_version": nullable(STR),
    "author": nullable({"type": "string", "description": "the author's fingerprint"}),
    "envelope": B64,
    "attachments": {"type": "array", "items": obj({"part": INT, "size": INT})},
    "grants": {"type": "array", "items": B64},
    "delivery": nullable(ref("Delivery")),
})

_SIGNER_KEY: Schema = obj({"name": STR, "fingerprint": STR, "active": BOOL, "pub_file": B64,
                           "role": _enum(["advocate", "recovery"])})

_PUBLIC_KEY: Schema = obj({"name": STR, "fingerprint": STR, "pub_file": B64})

_NOTIFIER: Schema = obj({"kind": _enum(NOTIFIER_KINDS)},
                        {"target": nullable({"type": "string"})})

SCHEMAS: dict[str, Schema] = {
    "Error": obj({"error": {"type": "string", "description": "what was wrong, for a person"}}),
    "Tip": obj(_TIP_FIELDS),
    "InboxTip": obj({**_TIP_FIELDS, "unread": BOOL}),
    "InboxPage": obj({"tips": {"type": "array", "items": ref("InboxTip")},
                      "next": nullable({"type": "string",
                                        "description": "cursor for 'after'; null on the last page"})}),
    "Delivery": obj({"status": STR, "attempts": INT, "error": nullable(STR)}),
    "Message": _MESSAGE,
    "SignerKey": _SIGNER_KEY,
    "PublicKey": _PUBLIC_KEY,
    "Deletion": _DELETION,
    "DeletionChange": {"allOf": [ref("Deletion"), obj({"changed": BOOL})]},
    "TipDetail": {"allOf": [ref("Tip"), obj({
        "instance_id": STR, "messages": {"type": "array", "items": ref("Message")},
        "keys": {"type": "array", "items": ref("SignerKey")},
        "deletion": nullable(ref("Deletion"))})]},
    "Recipients": obj({
        "instance_id": STR, "channel": _enum(CHANNELS),
        "recovery": obj({"fingerprint": STR, "pub_file": B64}),
        "advocates": {"type": "array", "items": ref("PublicKey")},
        "reporter": nullable(obj({"fingerprint": STR, "box_public": B64}))}),
    "Me": obj({"name": STR, "fingerprint": STR, "role": _enum([r.value for r in Role])}),
    "Challenge": obj({"nonce": B64, "expires_at": INT, "origin": STR, "instance_id": STR}),
    "Token": obj({"token": STR, "expires_at": INT, "role": _enum([r.value for r in Role]),
                  "name": STR, "fingerprint": STR}),
    "Notifier": _NOTIFIER,
    "Notifiers": obj({"custom": BOOL, "via": {"type": "array", "items": ref("Notifier")}}),
    "Pages": obj({
        "pages": {"type": "array", "items": obj({
            "step": INT, "repeat": INT, "advocate": nullable(STR), "notifier": nullable(STR),
            "status": STR, "at": nullable(STAMP), "error": nullable(STR), "coalesced": BOOL})},
        "escalations": {"type": "array", "items": obj({
            "status": STR, "opened_at": STAMP, "acked_at": nullable(STAMP),
            "acked_by": nullable(STR), "acked_via": nullable(STR)})},
        "acked_at": nullable(STAMP), "acked_by": nullable(STR)}),
    "Advocates": obj({"advocates": {"type": "array", "items": ref("PublicKey")}}),
    "AdminAdvocates": obj({"advocates": {"type": "array", "items": obj({
        "name": STR, "fingerprint": STR, "role": _enum([r.value for r in Role]),
        "active": INT, "created_at": STR})}}),
    "Audit": obj({"events": {"type": "array", "items": obj({
        "at": STR, "actor": nullable(STR), "action": STR, "tip_id": nullable(STR),
        "detail": nullable(STR)})}}),
    "RulesReport": obj({"version": STR, "report": {"type": "object"}}),
    "OnCall": obj({
        "now": STAMP, "on_call": {"type": "array", "items": STR},
        "oncall_list": {"type": "array", "items": STR},
        "rotation": nullable(obj({
            "name": STR, "advocates": {"type": "array", "items": STR}, "timezone": STR,
            "handoff": STR, "shift_seconds": NUM,
            "current": obj({"advocate": STR, "until": STAMP, "override": BOOL}),
            "upcoming": {"type": "array", "items": obj({"advocate": STR, "start": STAMP,
                                                         "end": STAMP})}})),
        "escalation": obj({"configured": BOOL, "repeat": INT, "levels": {
            "type": "array", "items": obj({"targets": {"type": "array", "items": STR},
                                           "delay_seconds": NUM})}})}),
    "Handoff": obj({"tip": STR, "to": obj({"name": STR, "fingerprint": STR}),
                    "granted": INT, "messages": INT}),
    "PostedMessage": obj({"id": STR, "seq": INT}, {"delivery": ref("Delivery")}),
    "LoggedOut": obj({"logged_out": {"const": True}}),
    # -- request bodies --------------------------------------------------------
    "ChallengeRequest": obj({"fingerprint": STR}),
    "TokenRequest": obj({"fingerprint": STR, "nonce": B64, "expires_at": INT,
                         "signature": B64},
                        {"origin": {**STR, "description": "the server address the client signed "
                                    "for; another than the server's own (or one listed in "
                                    "service.extra_origins) is refused, saying which to use"}}),
    "NewMessage": obj(
        {"id": {"type": "string", "pattern": MESSAGE_ID}, "direction": _enum(["out", "note"])},
        {"envelope": {**B64, "description": "the sealed envelope (every note and web reply)"},
         "to": {"type": "string", "description": "SMS/WhatsApp reply: the reporter's number"},
         "text": {"type": "string", "minLength": 1, "maxLength": MAX_SMS_CHARS,
                  "description": "SMS/WhatsApp reply: the text, sealed by the server"},
         "signature": {**B64, "description": "SMS/WhatsApp reply: the author's signature"}}),
    "Triage": {**obj({}, {
        "urgency": _enum(URGENCIES), "status": _enum(STATUSES),
        "feedback": nullable(obj({
            "rules": {"type": "array", "maxItems": 200,
                      "items": {"type": "string", "pattern": RULE_ID}},
            "ruleset_version": {"type": "string", "pattern": r"^[\x00-\x7f]{1,64}$"},
            "rules_urgency": _enum(URGENCIES)}))}),
        "anyOf": [{"required": ["urgency"]}, {"required": ["status"]}]},
    "HandoffRequest": obj({
        "to": {"type": "string", "pattern": FINGERPRINT},
        "grants": {"type": "array", "minItems": 1, "maxItems": MAX_GRANTS, "items": obj({
            "id": STR, "grant": {**B64, "maxLength": MAX_GRANT_BYTES}})}}),
    "NotifiersRequest": obj({"via": {"type": "array", "maxItems": MAX_NOTIFIERS,
                                     "items": ref("Notifier")}}),
}
