"""The API contract stays true: every /api/ route of the app is documented (same
method), nothing documented is missing from the app, the document is served
without a token, and the CLI client and the console call only documented paths."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import jsonschema_rs

from hotline.api.openapi import OPENAPI_PATH, openapi_document
from hotline.app import make_app
from tests.conftest import Live

if TYPE_CHECKING:
    from tests.helpers.instance import TestInstance

ROOT = Path(__file__).resolve().parent.parent
_METHODS = {"get", "put", "post", "delete", "patch"}


def _shape(path: str) -> str:
    """A path with every parameter as ``{}`` (aiohttp's ``{tip}`` and the document's alike)."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _documented() -> set[tuple[str, str]]:
    return {(method.upper(), _shape(path)) for path, item in openapi_document()["paths"].items()
            for method in item if method in _METHODS}


def _routed(instance: TestInstance) -> set[tuple[str, str]]:
    app = make_app(instance.root, env={})
    return {(r.method, _shape(r.resource.canonical)) for r in app.router.routes()
            if r.resource is not None and r.resource.canonical.startswith("/api/")
            and r.method != "HEAD"}


def test_every_api_route_is_documented_and_nothing_else(instance_factory) -> None:  # type: ignore[no-untyped-def]
    routed, documented = _routed(instance_factory()), _documented()
    assert routed, "the app has no /api/ routes: the comparison would prove nothing"
    assert sorted(routed - documented) == [], "routes missing from the OpenAPI document"
    assert sorted(documented - routed) == [], "documented paths the app does not have"


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = openapi_document()
    assert doc["openapi"].startswith("3.1")
    for schema in doc["components"]["schemas"].values():
        assert jsonschema_rs.meta.is_valid(schema), schema
    refs = set(re.findall(r'"#/components/schemas/([A-Za-z]+)"', str(doc).replace("'", '"')))
    assert refs <= set(doc["components"]["schemas"]), "a $ref names no component"
    for path, item in doc["paths"].items():
        for method, op in item.items():
            names = set(re.findall(r"\{([^}]+)\}", path))
            declared = {p["name"] for p in op.get("parameters", ()) if p["in"] == "path"}
            assert names == declared, (method, path)
            for status, response in op["responses"].items():
                if int(status) >= 400:  # every error is {"error": "..."}
                    assert response == {"$ref": f"#/components/responses/E{status}"}
    for name, response in doc["components"]["responses"].items():
        assert response["content"] == {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}, name


async def test_the_document_is_served_without_a_token(live: Live) -> None:
    async with aiohttp.ClientSession() as s, s.get(live.url + OPENAPI_PATH) as r:
        assert r.status == 200
        assert r.content_type == "application/json"
        assert await r.json() == openapi_document()


# -- the clients use only what the document lists ----------------------------------

# A string or template literal that starts with /api/ (Python and JS quotes alike).
_LITERAL = re.compile(r"""(?P<q>["'`])(/api/(?:(?!(?P=q)).)*)(?P=q)""")
# Where a client composes a path from parts the scan cannot see, the parts it adds.
_COMPOSED = {
    "hotline/cli/deletion_cmds.py": ["/api/tips/{}/deletion/hold",
                                     "/api/tips/{}/deletion/release"],
}


def called_paths(source: str) -> set[str]:
    """The API paths a client file calls, parameters as ``{}``, query strings dropped."""
    out = set()
    for m in _LITERAL.finditer(source):
        path = re.sub(r"\$?\{[^}]*\}", "{}", m.group(2)).split("?")[0]
        out.add(path)
    return out


def _matches(called: str, documented: str) -> bool:
    """A ``{}`` the client fills may be a documented parameter or a literal segment
    chosen at run time (``deletion/${held ? 'hold' : 'release'}``)."""
    a, b = called.strip("/").split("/"), documented.strip("/").split("/")
    return len(a) == len(b) and all(x == y or x == "{}" for x, y in zip(a, b, strict=True))


def _undocumented(called: set[str]) -> list[str]:
    documented = {path for _, path in _documented()}
    return sorted(c for c in called if not any(_matches(c, d) for d in documented))


def _client_files() -> list[Path]:
    return sorted([*ROOT.glob("hotline/client/*.py"), *ROOT.glob("hotline/cli/*.py"),
                   *ROOT.glob("hotline/console/static/js/*.js")])


def test_the_cli_client_and_console_call_only_documented_paths() -> None:
    called: dict[str, set[str]] = {}
    for f in _client_files():
        rel = f.relative_to(ROOT).as_posix()
        paths = called_paths(f.read_text(encoding="utf-8")) | set(_COMPOSED.get(rel, ()))
        if paths:
            called[rel] = paths
    everything = set().union(*called.values())
    # The scan sees the calls it must (so this test cannot pass by finding nothing).
    assert {"/api/auth/challenge", "/api/tips/{}/handoff", "/api/tips/{}/pages",
            "/api/tips/{}/messages/{}/attachments/{}", "/api/me/notifiers",
            "/api/admin/oncall"} <= everything
    assert {f for f in called if f.endswith(".js")} and {f for f in called if f.endswith(".py")}
    wrong = {f: _undocumented(paths) for f, paths in called.items() if _undocumented(paths)}
    assert wrong == {}, "clients call paths the OpenAPI document does not list"


def test_the_scan_catches_an_undocumented_call() -> None:
    js = "await app.api.get(`/api/tips/${encodeURIComponent(id)}/secrets?x=1`);"
    py = 'client.http.get_json(f"/api/tips/{tip[\'id\']}/recipients")'
    assert _undocumented(called_paths(js)) == ["/api/tips/{}/secrets"]
    assert _undocumented(called_paths(py)) == []
