"""Schemathesis against a live server, held to the OpenAPI document.

The real aiohttp server on 127.0.0.1 (the ``live`` fixture), a real tip, real
logins. Every documented operation is fuzzed with data that fits the document
and data that does not, as nobody, as bob (an advocate not on the tip) and as
alice (an admin on the tip, whose requests name the real tip). Each response
must be no 5xx, a documented status, a documented content type, and a body
that fits the documented schema: a malformed request gets a clear 4xx with
``{"error": ...}``. Hypothesis is derandomized and keeps no example database,
so a run is repeatable; examples per operation are few so the suite stays quick.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hotline.api.openapi import openapi_document
from hotline.client.advocate import AdvocateClient
from tests.conftest import Browser, Live
from tests.test_api import _tip

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
MAX_EXAMPLES = 6
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck))


@dataclass
class Run:
    base: str
    token: str | None = None
    tip: str | None = None  # name this tip in {tip} (positive data only)
    failures: list[str] = field(default_factory=list)
    calls: int = 0
    seen: dict[str, set[int]] = field(default_factory=dict)  # "GET /api/me" -> statuses


def _fuzz(run: Run) -> Run:
    """Every operation, positive then negative data; logout last (it ends the token)."""
    schema = schemathesis.openapi.from_dict(openapi_document())
    operations = sorted((r.ok() for r in schema.get_all_operations()),
                        key=lambda op: (op.path == "/api/auth/logout", op.path, op.method))
    headers = {"Authorization": f"Bearer {run.token}"} if run.token else {}
    with requests.Session() as session:
        for op in operations:
            for mode in (schemathesis.GenerationMode.POSITIVE,
                         schemathesis.GenerationMode.NEGATIVE):
                pin = ({"tip": run.tip} if run.tip and mode is schemathesis.GenerationMode.POSITIVE
                       and "{tip}" in op.path else None)

                @SETTINGS
                @given(case=op.as_strategy(mode, path_parameters=pin))
                def check(case: schemathesis.Case) -> None:
                    run.calls += 1
                    response = case.call(base_url=run.base, session=session, headers=headers)
                    label = f"{case.operation.method.upper()} {case.operation.path}"
                    run.seen.setdefault(label, set()).add(
                        response.status_code)
                    case.validate_response(response, checks=CHECKS, headers=headers)

                try:
                    check()
                except hypothesis.errors.Unsatisfiable:
                    # Nothing to make invalid: an operation without parameters or body.
                    assert mode is schemathesis.GenerationMode.NEGATIVE, op.path
                    declared = openapi_document()["paths"][op.path][op.method]
                    assert not {"parameters", "requestBody"} & set(declared), op.path
                except (Exception, BaseExceptionGroup) as e:  # reported together below
                    run.failures.append(f"{op.method.upper()} {op.path} ({mode.value}): "
                                        f"{_describe(e)}")
    return run


def _describe(e: BaseException) -> str:
    parts = [str(e)[:1500]]
    if isinstance(e, BaseExceptionGroup):
        parts += [f"  - {type(x).__name__}: {str(x)[:300]}" for x in e.exceptions]
    return "\n".join(parts)


async def _login(live: Live, who: str) -> str:
    client = AdvocateClient(live.url, getattr(live.instance, who))
    await asyncio.to_thread(client.login)
    assert client.http.token
    return client.http.token


async def _fuzz_live(run: Run) -> dict[str, set[int]]:
    done = await asyncio.to_thread(_fuzz, run)
    assert done.calls >= len(openapi_document()["paths"]) * MAX_EXAMPLES
    assert done.failures == [], "\n\n".join(done.failures)
    return done.seen


async def test_fuzz_without_a_token(live: Live) -> None:
    seen = await _fuzz_live(Run(live.url))
    assert seen["GET /api/me"] == {401}
    assert 200 in seen["POST /api/auth/challenge"]


async def test_fuzz_as_an_advocate_not_on_the_tip(live: Live, browser: Browser) -> None:
    tip = await _tip(live, browser)
    seen = await _fuzz_live(Run(live.url, await _login(live, "bob"), tip))
    assert 403 in seen["GET /api/admin/audit"] and 200 not in seen["GET /api/admin/audit"]
    assert 404 in seen["GET /api/tips/{tip}"] and 200 not in seen["GET /api/tips/{tip}"]


async def test_fuzz_as_an_admin_on_the_tip(live: Live, browser: Browser) -> None:
    tip = await _tip(live, browser)
    seen = await _fuzz_live(Run(live.url, await _login(live, "alice"), tip))
    # The token and the tip were used: the fuzzing reached the handlers' real work.
    for op in ("GET /api/tips/{tip}", "GET /api/tips/{tip}/recipients", "GET /api/admin/audit",
               "POST /api/tips/{tip}/triage", "GET /api/tips", "GET /api/me/notifiers"):
        assert 200 in seen[op], (op, seen[op])
