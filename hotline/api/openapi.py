"""The API contract: an OpenAPI 3.1 document of every ``/api/`` route, served at
``GET /api/openapi.json``.

Built here in Python rather than checked in as JSON so that its enums and
bounds come from the same constants the handlers check (``openapi_schemas``).
It is kept true by tests: ``tests/test_openapi_contract.py`` compares it
with the application's router and with the paths the CLI client and the
console call, and ``tests/test_openapi_fuzz.py`` fuzzes a live server
against it (no 5xx; every status, content type and body as documented).
The document holds no data, so it needs no token.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web

from .. import __version__
from .inbox import MAX_LIMIT
from .openapi_schemas import (
    CHANNELS,
    MESSAGE_ID,
    REF,
    SCHEMAS,
    STATUSES,
    TIP_ID,
    URGENCIES,
    Schema,
    ref,
)
from .routes import MAX_PART_DIGITS

OPENAPI_PATH = "/api/openapi.json"

_ERROR_TEXT = {
    400: "The request is malformed (the error says which field and why)",
    401: "No bearer token, or it is invalid or expired; log in again",
    403: "Not allowed (the admin role is needed, or the action is refused)",
    404: "No such thing, or it is not shared with you (the same answer for both)",
    409: "The request conflicts with the current state",
    413: "The body is larger than this route accepts",
    415: "The body is not application/json",
    503: "A service this needs is not configured",
}


def _json(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _param(where: str, name: str, schema: Schema, description: str,
           required: bool = False) -> dict[str, Any]:
    return {"in": where, "name": name, "required": required or where == "path",
            "schema": schema, "description": description}


TIP = _param("path", "tip", {"type": "string", "pattern": TIP_ID}, "the tip's id")


def _op(summary: str, ok: Schema | None, *errors: int, status: int = 200, auth: bool = True,
        admin: bool = False, params: tuple[dict[str, Any], ...] = (), body: str | None = None,
        ok_type: str = "application/json") -> dict[str, Any]:
    """One operation. Every authenticated one can answer 401; every one with a body
    can answer 400 (not JSON), 413 and 415; admin ones 403."""
    codes = set(errors)
    if auth:
        codes.add(401)
    if admin:
        codes.add(403)
    if body is not None:
        codes |= {400, 413, 415}
    responses: dict[str, Any] = {str(status): {
        "description": "OK",
        "content": {ok_type: {"schema": ok if ok is not None else {}}}}}
    for code in sorted(codes):
        responses[str(code)] = {"$ref": f"#/components/responses/E{code}"}
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if params:
        op["parameters"] = list(params)
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json(ref(body))}
    op["security"] = [{"bearer": []}] if auth else []
    if admin:
        op["x-hotline-role"] = "admin"
        op["description"] = "Needs the admin role."
    return op


def _choices(name: str, values: list[str]) -> dict[str, Any]:
    return _param("query", name, {"type": "string"},
                  f"one or more of {', '.join(values)}, comma-separated")


def _paths() -> dict[str, dict[str, Any]]:
    tip = "/api/tips/{tip}"
    return {
        OPENAPI_PATH: {"get": _op("This document", {"type": "object"}, auth=False)},
        "/api/auth/challenge": {"post": _op(
            "A login challenge for a key (anyone may ask)", ref("Challenge"), auth=False,
            body="ChallengeRequest")},
        "/api/auth/token": {"post": _op(
            "Log in: the signed challenge for a bearer token (15 minutes)", ref("Token"), 401,
            auth=False, body="TokenRequest")},
        "/api/auth/logout": {"post": _op(
            "Revoke the bearer token presented (idempotent; a body is ignored)",
            ref("LoggedOut"), 413, auth=False) | {"security": [{}, {"bearer": []}]}},
        "/api/me": {"get": _op("Who this token is", ref("Me"))},
        "/api/me/notifiers": {
            "get": _op("How I am paged, in order", ref("Notifiers")),
            "put": _op("Choose how I am paged (targets are the admin's)", ref("Notifiers"),
                       404, body="NotifiersRequest")},
        "/api/advocates": {"get": _op(
            "Active advocates' self-signed keys (for hand-off)", ref("Advocates"))},
        "/api/tips": {"get": _op(
            "My inbox, a page at a time", ref("InboxPage"), 400, params=(
                _param("query", "limit", {"type": "integer", "minimum": 1,
                                          "maximum": MAX_LIMIT}, "tips per page"),
                _param("query", "after", {"type": "string"},
                       "the 'next' cursor of the previous page"),
                _choices("status", STATUSES), _choices("urgency", URGENCIES),
                _choices("channel", CHANNELS),
                _param("query", "ref", {"type": "string", "pattern": REF},
                       "one short reference, such as K7D-93M")))},
        tip: {"get": _op("One tip: its envelopes, grants and signers' keys",
                         ref("TipDetail"), 404, params=(TIP,))},
        f"{tip}/recipients": {"get": _op(
            "Whom a new advocate message on this tip must be sealed to", ref("Recipients"),
            404, params=(TIP,))},
        f"{tip}/messages": {"post": _op(
            "Add a sealed reply or note (SMS/WhatsApp replies carry to, text, signature)",
            ref("PostedMessage"), 403, 404, 409, 503, status=201, params=(TIP,),
            body="NewMessage")},
        f"{tip}/messages/{{message}}/attachments/{{part}}": {"get": _op(
            "One sealed attachment, as stored", {"type": "string", "format": "binary"}, 404,
            ok_type="application/octet-stream", params=(
                TIP, _param("path", "message", {"type": "string", "pattern": MESSAGE_ID},
                            "the message's id"),
                _param("path", "part", {"type": "integer", "minimum": 0,
                                        "maximum": 10 ** MAX_PART_DIGITS - 1},
                       "the attachment's part number")))},
        f"{tip}/triage": {"post": _op(
            "Set urgency and/or status (with the rules' feedback)", ref("Tip"), 404,
            params=(TIP,), body="Triage")},
        f"{tip}/ack": {"post": _op(
            "Acknowledge the tip (stops its pages; a body is ignored)", ref("Tip"), 404, 413,
            params=(TIP,))},
        f"{tip}/handoff": {"post": _op(
            "Share the tip with a colleague by key grants", ref("Handoff"), 403, 404, 409,
            params=(TIP,), body="HandoffRequest")},
        f"{tip}/pages": {"get": _op(
            "The tip's pages and acknowledgements", ref("Pages"), 404, params=(TIP,))},
        f"{tip}/deletion": {"get": _op(
            "The reporter's deletion request", ref("Deletion"), 404, params=(TIP,))},
        f"{tip}/deletion/hold": {"post": _op(
            "Hold the deletion request (a body is ignored)", ref("DeletionChange"),
            404, 409, 413, params=(TIP,))},
        f"{tip}/deletion/release": {"post": _op(
            "Release a held deletion request (a body is ignored)", ref("DeletionChange"),
            404, 409, 413, params=(TIP,))},
        "/api/admin/advocates": {"get": _op(
            "Every advocate and their role", ref("AdminAdvocates"), admin=True)},
        "/api/admin/audit": {"get": _op(
            "The audit log: the last 500 events, or every event of one tip", ref("Audit"),
            admin=True, params=(_param("query", "tip", {"type": "string"}, "a tip's id"),))},
        "/api/admin/rules": {"get": _op(
            "The live rule set's version and the rules feedback report",
            ref("RulesReport"), admin=True)},
        "/api/admin/oncall": {"get": _op(
            "The rotation, who is on call and the escalation policy", ref("OnCall"),
            admin=True)},
    }


@cache
def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hotline advocate and admin API", "version": __version__,
                 "description": "Envelopes and metadata only: the server never opens a "
                                "report. Every error is {\"error\": \"...\"}."},
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "responses": {f"E{code}": {"description": text, "content": _json(ref("Error"))}
                          for code, text in _ERROR_TEXT.items()},
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "A token from POST /api/auth/token"}},
        },
    }


async def serve_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


def setup_openapi(app: web.Application) -> None:
    app.router.add_get(OPENAPI_PATH, serve_openapi)
