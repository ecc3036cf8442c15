"""The versioned server secret, kept outside the database and its backups.

Every keyed hash the server computes (phone-number threads, receipt lookups,
Twilio SID idempotency keys, CSRF tokens) uses its own subkey of this secret,
so a copy of the database alone cannot test guesses against any of them.
Versions allow rotation (CRYPTO.md §8): ``rotate_server_secret`` adds a version
that becomes the current one; lookups try every version, and a row found under
an older one is rewritten to the current on that match; ``retire_server_secret``
destroys an old version once ``secrets.retire_after`` has passed since the
rotation that replaced it. A row still stored under a retired version then
simply does not match any more (the SMS number starts a new thread, the
receipt is unknown): retiring is the point after which old hashes are dead.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

    def versions(self) -> list[int]:
        """Every version, current first, then newest to oldest."""
        return [self.current, *sorted((v for v in self.keys if v != self.current), reverse=True)]

    def hashes(self, label: str, data: bytes) -> list[bytes]:
        """The keyed hash under every version, current first, for lookups during rotation."""
        return [self.hash(label, data, v) for v in self.versions()]


def generate_server_secret(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    doc = {"format": FORMAT, "current": 1,
           "keys": {"1": base64.b64encode(secrets.token_bytes(32)).decode()}}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f)
        f.flush()
        os.fsync(f.fileno())


@dataclass(frozen=True)
class Rotation:
    current: int
    versions: tuple[int, ...]
    retired: int | None = None


def rotate_server_secret(path: Path, now: float | None = None) -> Rotation:
    """Add a fresh version and make it the current one; the old ones stay for lookups."""
    doc = _read_doc(path)
    versions = [int(v) for v in doc["keys"]]
    new = max(versions) + 1
    doc["keys"][str(new)] = base64.b64encode(secrets.token_bytes(32)).decode()
    doc["current"] = new
    doc.setdefault("rotated_at", {})[str(new)] = int(time.time() if now is None else now)
    _replace_doc(path, doc)
    return Rotation(new, tuple(sorted([*versions, new])))


def retire_server_secret(path: Path, version: int, retire_after: float, *,
                         now: float | None = None, force: bool = False) -> Rotation:
    """Destroy an old version, once ``retire_after`` seconds have passed since the rotation
    that replaced it (``force`` skips the wait). Never the current version."""
    doc = _read_doc(path)
    current = int(doc["current"])
    if str(version) not in doc["keys"]:
        raise InstanceError(f"{path}: no server secret version {version} "
                            f"(versions: {', '.join(sorted(doc['keys'], key=int))})")
    if version == current:
        raise InstanceError(f"{path}: version {version} is the current one and cannot be retired; "
                            "rotate first ('hotline rotate-secret DIR')")
    later = [int(v) for v in doc["keys"] if int(v) > version]
    replaced_at = doc.get("rotated_at", {}).get(str(min(later))) if later else None
    at = time.time() if now is None else now
    if not force:
        if replaced_at is None:
            raise InstanceError(f"{path}: when version {version} was replaced is not recorded; "
                                "retire it with --force once you are sure its rows were rewritten")
        left = float(replaced_at) + retire_after - at
        if left > 0:
            raise InstanceError(
                f"{path}: version {version} was replaced {int(at - float(replaced_at))} s ago; "
                f"secrets.retire_after asks for {int(retire_after)} s ({int(left)} s left), so "
                "rows not yet rewritten can still be found. Wait, or use --force")
    del doc["keys"][str(version)]
    doc.get("rotated_at", {}).pop(str(version), None)
    _replace_doc(path, doc)
    return Rotation(current, tuple(sorted(int(v) for v in doc["keys"])), version)


def _read_doc(path: Path) -> dict[str, Any]:
    load_server_secret(path, env={})  # the same checks and messages as at start
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _replace_doc(path: Path, doc: dict[str, Any]) -> None:
    """Write the new file beside the old, fsync, rename over it, fsync the folder: a crash
    leaves the old file or the new one, never half of either. The old file's bytes are
    gone from the secrets file; the file system may keep freed blocks, as for any delete."""
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


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
