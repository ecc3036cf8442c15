"""The whole story as a newcomer lives it: ``hotline serve`` as a process, a
browser filling the form, ``hotline inbox`` / ``read`` / ``reply`` as processes."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import Browser, free_port
from tests.helpers.html import form_by_action, receipt_words
from tests.helpers.instance import make_instance
from tests.helpers.process import ServerProcess, cli_json, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.both_stores]


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    inst = make_instance(tmp_path, public_url=f"http://127.0.0.1:{port}")
    server = ServerProcess(inst.root, port).start()
    try:
        yield inst, server
    finally:
        assert server.stop() == 0  # graceful shutdown exits cleanly


async def test_web_tip_travels_to_the_advocate_and_back(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _inst, server = served
    key = str(tmp_path / "alice.key")
    client = ["--server", server.url, "--key", key]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        browser = Browser(server.url, session)
        status, html = await browser.report(
            "A girl, maybe 15, works at the nail salon. She is underage and they do not let her leave.",
            files=[("note.txt", b"plate ABC-123", "text/plain")])
        assert status == 200
        words = receipt_words(html)
        assert len(words) == 12

        inbox = cli_json("inbox", *client)
        assert isinstance(inbox, list) and len(inbox) == 1
        tip = inbox[0]
        assert tip["channel"] == "web" and tip["status"] == "new"
        assert tip["urgency"] in ("high", "critical") and tip["created_at"]

        out = tmp_path / "saved"
        read = cli_json("read", tip["id"], "--save-attachments", str(out), *client)
        assert isinstance(read, dict)
        (msg,) = read["messages"]
        assert msg["direction"] == "in"
        assert msg["body"].startswith("A girl, maybe 15")
        assert msg["sender"] is None
        assert msg["attachments"][0]["name"] == "note.txt"
        assert (next(out.iterdir())).read_bytes() == b"plate ABC-123"

        run_cli("reply", tip["id"], "-m", "Thank you. We are looking into it today.", *client)
        run_cli("ack", tip["id"], *client)
        run_cli("triage", tip["id"], "--urgency", "critical", *client)
        everything = cli_json("read", "--all", *client)
        assert isinstance(everything, list)
        assert [m["direction"] for m in everything[0]["messages"]] == ["in", "out"]
        assert everything[0]["urgency"] == "critical"

        _, page = await browser.get("/followup")
        status, thread = await browser.submit(form_by_action(page, "/followup"),
                                              {"receipt": " ".join(words)})
        assert status == 200 and "Thank you. We are looking into it today." in thread


def test_cli_errors_are_one_line(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inst, server = served
    key = tmp_path / "alice.key"
    bad = run_cli("inbox", "--server", server.url, "--key", str(key), check=False,
                  HOTLINE_PASSPHRASE="wrong")
    assert bad.returncode != 0
    assert bad.stderr.count("\n") == 1 and "passphrase" in bad.stderr.lower()
    assert "Traceback" not in bad.stderr
    garbage = tmp_path / "garbage.key"
    garbage.write_bytes(b"this is not a key file")
    bad = run_cli("inbox", "--server", server.url, "--key", str(garbage), check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and str(garbage) in bad.stderr
    truncated = tmp_path / "truncated.key"
    truncated.write_bytes(key.read_bytes()[:40])
    bad = run_cli("inbox", "--server", server.url, "--key", str(truncated), check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    bad = run_cli("read", "tnope", "--server", server.url, "--key", str(key), check=False)
    assert bad.returncode != 0 and "404" in bad.stderr and "Traceback" not in bad.stderr
    bad = run_cli("inbox", "--server", "http://127.0.0.1:9", "--key", str(key), check=False)
    assert bad.returncode != 0 and "cannot reach" in bad.stderr
    assert json.loads(run_cli("oncall", "show", str(inst.root), "--json").stdout)["on_call"] == ["alice"]
