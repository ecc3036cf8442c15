"""``pip install`` of a built wheel gives a whole Hotline: the console works with no checkout.

Builds the wheel from a copy of this checkout (``pip wheel``, as docs/deploy.md says),
installs it with its dependencies into a fresh venv in a temporary folder,
then, from outside the checkout and with no ``HOTLINE_NODE_MODULES``, uses
that venv's ``hotline`` to make keys and an instance and to serve it, and runs
the console's whole Chromium journey (tests/console/test_console_e2e.py)
against it. Doctor and the server's own log must say the libsodium.js served
is the installed package's, so the test cannot pass by finding node_modules.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from crypto import decrypt_identity
from tests.conftest import free_port
from tests.console.browser import need_chromium
from tests.console.test_console_e2e import journey
from tests.helpers import instance as test_instance
from tests.helpers.instance import PASSPHRASE
from tests.helpers.process import ServerProcess
from tests.helpers.twilio_fake import FakeTwilio, incoming_sms_form, signed_post
from tests.twilio.conftest import REPORTER, twilio_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(*cmd: str, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def _clean_env() -> dict[str, str]:
    """No HOTLINE_* (so no HOTLINE_NODE_MODULES) and nothing pointing Python at the checkout."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOTLINE_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    return env | {"HOTLINE_PASSPHRASE": PASSPHRASE}


def _checkout_copy(to: Path) -> Path:
    """This checkout as a fresh clone with ``npm ci`` done would be: its files (as they are
    now, committed or not, git-ignored ones left out) and node_modules. Not the checkout
    itself: its ``build/`` folder may hold an earlier build's files, which setuptools
    would package again (an earlier run of this test passed without the build hook so)."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, check=True).stdout
    for rel in filter(None, listed.decode().split("\0")):
        if (ROOT / rel).is_file():
            (to / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, to / rel)
    shutil.copytree(ROOT / "node_modules", to / "node_modules")
    return to


def _install(tmp_path: Path, env: dict[str, str]) -> Path:
    """Build the wheel as docs/deploy.md says, install it in a fresh venv; the venv's bin/."""
    source = _checkout_copy(tmp_path / "src")
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), ".",
         cwd=source, env=env)
    shutil.rmtree(source)  # nothing of the tree is left near the install
    [wheel] = wheels.glob("hotline-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", str(venv), cwd=tmp_path, env=env)
    _run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel), cwd=tmp_path, env=env)
    where = _run(str(venv / "bin" / "python"), "-c", "import hotline; print(hotline.__file__)",
                 cwd=tmp_path, env=env).strip()
    assert Path(where).is_relative_to(venv), where  # the installed copy, not the checkout's
    return venv / "bin"


@dataclass
class InstalledSite:
    """The journey's view of the installed server (what ``SmsLive`` is in-process)."""

    url: str
    instance: test_instance.TestInstance
    fake: FakeTwilio
    session: aiohttp.ClientSession

    async def text(self, body: str) -> tuple[int, str]:
        form = incoming_sms_form(account_sid=self.fake.account_sid, sender=REPORTER, body=body)
        return await signed_post(self.session, server=self.url, path="/twilio/sms",
                                 public_url=self.url, auth_token=self.fake.auth_token, form=form)


def _make_instance(bin_: Path, tmp_path: Path, url: str, env: dict[str, str]) -> test_instance.TestInstance:
    """keygen, init, advocate add, oncall set: the installed CLI, as an operator runs it."""
    hotline = str(bin_ / "hotline")
    for who in ("recovery", "alice", "bob"):
        _run(hotline, "keygen", "--out", f"{who}.key", "--name", who, "--kdf", "testing",
             cwd=tmp_path, env=env)
    root = tmp_path / "instance"
    _run(hotline, "init", str(root), "--recovery-pubkey", "recovery.key.pub", "--public-url", url,
         cwd=tmp_path, env=env)
    _run(hotline, "advocate", "add", str(root), "--name", "alice", "--pubkey", "alice.key.pub",
         "--role", "admin", cwd=tmp_path, env=env)
    _run(hotline, "advocate", "add", str(root), "--name", "bob", "--pubkey", "bob.key.pub",
         cwd=tmp_path, env=env)
    _run(hotline, "oncall", "set", str(root), "alice", cwd=tmp_path, env=env)
    ident = {who: decrypt_identity((tmp_path / f"{who}.key").read_bytes(), PASSPHRASE)
             for who in ("recovery", "alice", "bob")}
    return test_instance.TestInstance(root, "", ident["recovery"], ident["alice"], ident["bob"])


@dataclass
class Installed:
    bin: Path
    instance: test_instance.TestInstance
    port: int
    served: dict[str, str]  # doctor's console_libsodium: origin and path


@pytest.fixture
def installed(tmp_path: Path) -> Installed:
    assert not tmp_path.resolve().is_relative_to(ROOT)
    env = _clean_env()
    bin_ = _install(tmp_path, env)
    port = free_port()
    instance = _make_instance(bin_, tmp_path, f"http://127.0.0.1:{port}", env)
    # Which copy doctor says is served (with the server's environment): the installed one.
    report = json.loads(subprocess.run(
        [str(bin_ / "hotline"), "doctor", str(instance.root), "--json"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120).stdout)
    served = report["console_libsodium"]
    assert served is not None and served["origin"] == "installed package", report
    assert Path(served["path"]).is_relative_to(tmp_path / "venv"), served
    assert not any(p.startswith("console:") for p in report["problems"]), report
    return Installed(bin_, instance, port, served)


async def test_console_journey_on_an_installed_wheel(tmp_path: Path, installed: Installed) -> None:
    executable = need_chromium()
    url = f"http://127.0.0.1:{installed.port}"
    fake = await FakeTwilio().start()
    server = ServerProcess(installed.instance.root, installed.port,
                           {**twilio_env(fake), "HOTLINE_LOG_FORMAT": "json"},
                           command=[str(installed.bin / "hotline")], cwd=tmp_path)
    try:
        await asyncio.to_thread(server.start, 60)
        # The server's own word on which copy it serves.
        [line] = [json.loads(ln) for ln in server.stderr_path.read_text().splitlines()
                  if '"console.libsodium"' in ln]
        assert (line["kind"], line["path"]) == ("installed package", installed.served["path"]), line
        async with aiohttp.ClientSession() as session:
            await journey(InstalledSite(url, installed.instance, fake, session), fake, tmp_path,
                          executable)
    finally:
        if server.proc is not None:
            await asyncio.to_thread(server.stop)
        await fake.close()
