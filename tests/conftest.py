"""Fixtures that start the real thing: instance folders, the aiohttp server on
127.0.0.1 over real HTTP, and a cookie-keeping browser stand-in."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hotline.app import make_app
from hotline.logging import configure_logging
from hotline.ops.listener import make_ops_app
from hotline.services import SERVICES
from tests.helpers import instance as instance_helpers
from tests.helpers.html import Form, form_by_action
from tests.helpers.instance import TestInstance, make_instance


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


STORE_ENV = "HOTLINE_TEST_STORE"
"""``HOTLINE_TEST_STORE=postgresql`` puts every test's instances on PostgreSQL (a survey of
what is portable; tests that open ``hotline.db`` themselves then fail by design)."""
BOTH_STORES = "both_stores"
"""Marker: run the test (or the module, with ``pytestmark``) on SQLite and on PostgreSQL."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_kind" in metafunc.fixturenames and metafunc.definition.get_closest_marker(BOTH_STORES):
        metafunc.parametrize("store_kind", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(autouse=True)
def store_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    """Which store this test's instances use: "sqlite", or "postgresql" (a fresh database on
    the session's cluster for each instance) for tests marked ``both_stores``."""
    kind = getattr(request, "param", os.environ.get(STORE_ENV, "sqlite"))
    if kind != "postgresql":
        yield kind
        return
    cluster = request.getfixturevalue("pg_cluster")
    instance_helpers.DATABASE[0] = cluster.new_database
    try:
        yield kind
    finally:
        instance_helpers.DATABASE[0] = None


@pytest.fixture(autouse=True)
def _quiet_logs(tmp_path: Path) -> None:
    configure_logging("json", "info", tmp_path / "instance" / "logs" / "hotline.log")


@dataclass
class Live:
    instance: TestInstance
    url: str
    app: web.Application
    ops_url: str = ""  # the ops listener (/metrics, /readyz), when the test started one

    @property
    def services(self):  # type: ignore[no-untyped-def]
        return self.app[SERVICES]


@pytest.fixture
def instance_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(public_url: str = "http://127.0.0.1:8080") -> TestInstance:
        return make_instance(tmp_path, public_url)
    return make


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    inst = make_instance(tmp_path, public_url=url)
    app = make_app(inst.root, env={})
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    ops_port = free_port()
    ops = TestServer(make_ops_app(app), host="127.0.0.1", port=ops_port)
    await ops.start_server()
    try:
        yield Live(inst, url, app, f"http://127.0.0.1:{ops_port}")
    finally:
        await ops.close()
        await server.close()


class Browser:
    """Keeps cookies, reads forms, posts them back the way a browser does."""

    def __init__(self, base: str, session: aiohttp.ClientSession) -> None:
        self.base, self.session = base, session

    async def get(self, path: str, **kw: object) -> tuple[int, str]:
        async with self.session.get(self.base + path, **kw) as r:  # type: ignore[arg-type]
            return r.status, await r.text()

    async def submit(self, form: Form, values: dict[str, str],
                     files: list[tuple[str, bytes, str]] = ()) -> tuple[int, str]:  # type: ignore[assignment]
        data = aiohttp.FormData()
        for k, v in {**form.fields, **values}.items():
            data.add_field(k, v)
        for name, content, ctype in files:
            data.add_field("attachment", content, filename=name, content_type=ctype)
        if not files and "multipart" in form.enctype:
            data.add_field("attachment", b"", filename="", content_type="application/octet-stream")
        async with self.session.post(self.base + form.action, data=data) as r:
            return r.status, await r.text()

    async def report(self, text: str, files: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
                     lang: str | None = None) -> tuple[int, str]:
        _, html = await self.get("/" + (f"?lang={lang}" if lang else ""))
        return await self.submit(form_by_action(html, "/report"), {"message": text}, files)


@pytest.fixture
async def browser(live: Live) -> AsyncIterator[Browser]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        yield Browser(live.url, session)


@pytest.fixture(scope="session")
def pg_cluster():  # type: ignore[no-untyped-def]
    """One throwaway PostgreSQL cluster for the session (tests/helpers/pg_cluster.py)."""
    from tests.helpers.pg_cluster import start_cluster
    cluster = start_cluster()
    yield cluster
    cluster.close()


@pytest.fixture
def pg_url(pg_cluster) -> str:  # type: ignore[no-untyped-def]
    """A fresh, empty PostgreSQL database on the session's cluster."""
    return str(pg_cluster.new_database())
