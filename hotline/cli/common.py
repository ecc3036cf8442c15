"""Shared CLI plumbing: passphrases, key files, output."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from crypto import Identity, KeyFileError, decrypt_identity

from ..errors import UsageError

DEFAULT_SERVER = "http://127.0.0.1:8080"


def _client_args(p: argparse.ArgumentParser) -> None:
    """The options every command that talks to the server takes."""
    p.add_argument("--server", default=os.environ.get("HOTLINE_SERVER", DEFAULT_SERVER),
                   help="the Hotline server URL (env HOTLINE_SERVER)")
    p.add_argument("--key", default=os.environ.get("HOTLINE_KEY"),
                   help="your key file (env HOTLINE_KEY); passphrase from HOTLINE_PASSPHRASE or prompted")
    p.add_argument("--json", action="store_true", help="print JSON")


def _group(sub: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    return sub.add_parser(name, help=help).add_subparsers(dest="sub", required=True, metavar="ACTION")


def passphrase(prompt: str = "Passphrase: ", *, confirm: bool = False) -> str:
    """From ``HOTLINE_PASSPHRASE`` for scripts, else asked at the terminal."""
    env = os.environ.get("HOTLINE_PASSPHRASE")
    if env is not None:
        return env
    if not sys.stdin.isatty():
        raise UsageError("no passphrase: set HOTLINE_PASSPHRASE or run in a terminal")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat passphrase: ") != first:
        raise UsageError("the passphrases do not match")
    return first


def load_key(path: str | None) -> Identity:
    if not path:
        raise UsageError("give --key FILE (or set HOTLINE_KEY)")
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise UsageError(f"{path}: cannot read key file ({e.strerror})") from None
    try:
        return decrypt_identity(data, passphrase(f"Passphrase for {path}: "))
    except KeyFileError as e:
        raise UsageError(f"{path}: {e}") from None


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, "") or "")) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(str(r.get(c, "") or "").ljust(widths[c]) for c in columns))
