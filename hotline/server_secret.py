"""The versioned server secret, kept outside the database and its backups.

Every keyed hash the server computes (phone-number threads, receipt lookups,
Twilio SID idempotency keys, CSRF tokens) uses its own subkey of this secret,
so a copy of the database alone cannot test guesses against any of them.
Versions allow rotation: look up under every version, write under the current.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crypto import derive_subkey, keyed_hash

from .errors import InstanceError

FORMAT = "hotline-server-secret-v1"


@dataclass(frozen=True)
class ServerSecret:
    current: int
    keys: Mapping[int, bytes] = field(repr=False)

    _subkeys: dict[tuple[str, int], bytes] = field(default_factory=dict, repr=False, compare=False)

    def subkey(self, label: str, version: int | None = None) -> bytes:
        """Derived once per (label, version): these sit on every request's path."""
        v = self.current if version is None else version
        cached = self._subkeys.get((label, v))
        if cached is None:
            cached = self._subkeys[(label, v)] = derive_subkey(self.keys[v], label)
        return cached

    def hash(self, label: str, data: bytes, version: int | None = None) -> bytes:
        """Keyed hash under the labelled subkey of one version (default: current)."""
        return keyed_hash(self.subkey(label, version), data)

    def hashes(self, label: str, data: bytes) -> list[bytes]:
        """The keyed hash under every version, current first, for lookups during rotation."""
        order = [self.current, *sorted((v for v in self.keys if v != self.current), reverse=True)]
        return [self.hash(label, data, v) for v in order]


def generate_server_secret(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    doc = {"format": FORMAT, "current": 1,
           "keys": {"1": base64.b64encode(secrets.token_bytes(32)).decode()}}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f)
        f.flush()
        os.fsync(f.fileno())


def load_server_secret(path: Path, env: Mapping[str, str] | None = None) -> ServerSecret:
    """From ``HOTLINE_SERVER_SECRET`` (base64), ``HOTLINE_SERVER_SECRET_FILE`` or the file."""
    env = os.environ if env is None else env
    if env.get("HOTLINE_SERVER_SECRET"):
        return ServerSecret(1, {1: _decode_key(env["HOTLINE_SERVER_SECRET"], "HOTLINE_SERVER_SECRET")})
    if env.get("HOTLINE_SERVER_SECRET_FILE"):
        path = Path(env["HOTLINE_SERVER_SECRET_FILE"])
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InstanceError(f"{path}: server secret not found") from None
    except (OSError, ValueError) as e:
        raise InstanceError(f"{path}: unreadable server secret ({type(e).__name__})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InstanceError(f"{path}: not a Hotline server secret")
    try:
        keys = {int(k): _decode_key(v, str(path)) for k, v in doc["keys"].items()}
        current = int(doc["current"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InstanceError(f"{path}: malformed server secret") from None
    if current not in keys:
        raise InstanceError(f"{path}: current version {current} has no key")
    return ServerSecret(current, keys)


def _decode_key(value: object, where: str) -> bytes:
    try:
        key = base64.b64decode(str(value), validate=True)
    except ValueError:
        raise InstanceError(f"{where}: server secret is not base64") from None
    if len(key) != 32:
        raise InstanceError(f"{where}: server secret must be 32 bytes")
    return key
