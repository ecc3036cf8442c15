"""``hotline demo DIR``: a working local instance in one command, every channel included.

Creates the instance (recovery key generated here — fine for a demo only), a
demo advocate key with a published passphrase and a made-up phone number,
registers it as on call and paged by SMS, and serves it together with the
Twilio stand-in (``hotline.twilio.standin``, the one the tests use) on its own
local port: ``hotline simulate sms|voice DIR`` then works end to end, and the
texts and calls the hotline sends through "Twilio" (auto-replies, advocates'
replies, pages) are printed here, where a newcomer sees them. Everything it
makes is marked demo; never use it for real reports.

The port is 8080 when free (else any free port, or ``--port``), written into
``hotline.toml`` together with a matching public URL, and ``demo.env`` holds
the variables the client commands need, so the printed commands run as shown.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shlex
import socket
import struct
import sys
import wave
from pathlib import Path

from crypto import PHONE, Identity, encrypt_identity

from ..config import CONFIG_FILENAME, load_config
from ..domain import Role
from ..errors import UsageError
from ..instance_setup import add_advocate, create_instance, set_on_call
from ..paging.admin import set_notifiers

DEMO_PASSPHRASE = "demo passphrase"  # noqa: S105 - published on purpose: demo keys only
DEMO_PHONE = "+15005550101"  # the demo advocate's (made-up) phone: pages and calls go here
HOTLINE_NUMBER = "+15005550006"
DEFAULT_PORT = 8080
ENV_FILE = "demo.env"
VOICEMAIL = "sample-voicemail.wav"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _any_free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _set(config: str, section: str, key: str, value: str) -> str:
    """Set ``key = value`` in ``[section]`` of the rendered config (commented or not)."""
    start = config.index(f"[{section}]\n")
    end = config.find("\n[", start + 1)
    end = len(config) if end < 0 else end
    body, n = re.subn(rf"(?m)^#? ?{re.escape(key)} = .*$", f"{key} = {value}", config[start:end],
                      count=1)
    if n != 1:
        raise RuntimeError(f"the default config has no {section}.{key}")
    return config[:start] + body + config[end:]


def _write_voicemail(path: Path) -> None:
    """Two seconds of a quiet tone: a WAV to leave as a voicemail in the demo."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", (i % 40 - 20) * 200) for i in range(16000)))


def _create(root: Path, port: int) -> None:
    recovery = Identity.generate("demo-recovery")
    create_instance(root, recovery.public, public_url=f"http://127.0.0.1:{port}")
    config_file = root / CONFIG_FILENAME
    text = config_file.read_text(encoding="utf-8")
    for section, key, value in (
            ("service", "port", str(port)),
            ("twilio", "account_sid", f'"AC{secrets.token_hex(16)}"'),
            ("twilio", "auth_token", f'"{secrets.token_hex(16)}"'),
            ("twilio", "number", f'"{HOTLINE_NUMBER}"'),
            ("twilio", "api_base", f'"http://127.0.0.1:{_any_free_port()}"'),
            ("ops", "port", "0")):
        text = _set(text, section, key, value)
    config_file.write_text("# A DEMO instance: Twilio is the local stand-in `hotline demo` starts.\n"
                           + text, encoding="utf-8")
    (root / "demo-recovery.key").write_bytes(encrypt_identity(recovery, DEMO_PASSPHRASE, PHONE))
    key = root / "demo-advocate.key"
    advocate = Identity.generate("demo")
    key.write_bytes(encrypt_identity(advocate, DEMO_PASSPHRASE, PHONE))
    os.chmod(key, 0o600)
    Path(str(key) + ".pub").write_bytes(advocate.public.to_pub_file())
    add_advocate(root, advocate.public, name="demo", role=Role.ADMIN, phone=DEMO_PHONE)
    set_on_call(root, ["demo"])
    set_notifiers(root, "demo", [("sms", None)])
    _write_voicemail(root / VOICEMAIL)


def _hotline_command() -> str:
    """How to run this same ``hotline`` from the current folder (it may not be on the PATH)."""
    exe = Path(os.path.abspath(sys.argv[0])) if sys.argv and sys.argv[0] else None
    if exe is None or not exe.exists() or exe.name != "hotline":
        return "hotline"
    try:
        return str(exe.relative_to(Path.cwd()))
    except ValueError:
        return str(exe)


def cmd_demo(args: argparse.Namespace) -> int:
    root = Path(args.dir).resolve()
    if not (root / CONFIG_FILENAME).exists():
        port = args.port or (DEFAULT_PORT if _free(DEFAULT_PORT) else _any_free_port())
        _create(root, port)
    config = load_config(root)
    port = int(config["service.port"])
    if args.port and args.port != port:
        raise UsageError(f"{root} was made for port {port}; run without --port, or remove the "
                         "folder to make a new demo")
    server = f"http://127.0.0.1:{port}"
    (root / ENV_FILE).write_text(
        "# Source this (. demo/demo.env) to use the demo with the client commands.\n"
        f"export HOTLINE_SERVER={server}\n"
        f"export HOTLINE_KEY={shlex.quote(str(root / 'demo-advocate.key'))}\n"
        f"export HOTLINE_PASSPHRASE={shlex.quote(DEMO_PASSPHRASE)}\n", encoding="utf-8")
    hl = _hotline_command()
    d = shlex.quote(os.path.relpath(root))
    print(f"""
Demo instance in {root} (demo keys: never use for real reports).
  Report:    open {server}/ and send a tip; follow it up at {server}/followup
  Console:   open {server}/console, import {root / 'demo-advocate.key'}, passphrase '{DEMO_PASSPHRASE}'
  In another terminal, in this folder:
    . {d}/{ENV_FILE}
    {hl} inbox
    {hl} read --all
    {hl} reply TIP_ID -m "We got your message."
    {hl} simulate sms {d} --from +15551230001 --body "I need help, they took my passport"
    {hl} simulate sms {d} --whatsapp --from +15551230002 --body "help"
    {hl} simulate voice {d} --from +15551230003 --press 1 --recording {d}/{VOICEMAIL}
  Twilio is a local stand-in here: what the hotline sends (replies, pages) shows below.
""", flush=True)
    if args.no_serve:
        return 0
    from ..logging import configure_logging

    log_file = config["service.log_file"]
    configure_logging(config["service.log_format"], config["service.log_level"],
                      root / log_file if log_file else None)
    asyncio.run(_serve_with_standin(root, config["service.host"], port,
                                    account_sid=config["twilio.account_sid"],
                                    auth_token=config["twilio.auth_token"],
                                    api_base=config["twilio.api_base"]))
    return 0


async def _serve_with_standin(root: Path, host: str, port: int, *, account_sid: str,
                              auth_token: str, api_base: str) -> None:
    from ..server import run_service
    from ..twilio.standin import FakeTwilio, Recorded

    def show(r: Recorded) -> None:
        if r.method == "POST" and r.path.endswith("/Messages.json"):
            print(f"[twilio stand-in] text to {r.form.get('To')}: {r.form.get('Body')}", flush=True)
        elif r.method == "POST" and r.path.endswith("/Calls.json"):
            print(f"[twilio stand-in] call to {r.form.get('To')} (a page)", flush=True)
        elif "/Recordings/" in r.path and r.path.startswith("/2010"):
            what = "fetched by the hotline" if r.method == "GET" else "deleted at Twilio"
            print(f"[twilio stand-in] voicemail {what}", flush=True)

    standin = FakeTwilio(account_sid=account_sid, auth_token=auth_token)
    standin.observers.append(show)
    standin_port = int(api_base.rsplit(":", 1)[1].rstrip("/"))
    try:
        await standin.start(standin_port)
    except OSError as e:
        raise UsageError(f"the Twilio stand-in cannot listen on {api_base} ({e.strerror}); set "
                         f"twilio.api_base in {root / CONFIG_FILENAME} to a free local port") from None
    try:
        await run_service(root, host, port)
    finally:
        await standin.close()
