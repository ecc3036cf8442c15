"""Small facts about an instance folder the ops commands share."""

from __future__ import annotations

import os
from pathlib import Path

from crypto import CryptoError, PublicIdentity

from ..errors import InstanceError, UsageError
from ..instance import InstancePaths

PID_FILE = "hotline.pid"  # written by ``hotline serve`` (hotline.server.PID_FILE)


def load_recovery_pub(paths: InstancePaths) -> PublicIdentity:
    try:
        return PublicIdentity.from_pub_file(paths.recovery_pub.read_bytes())
    except FileNotFoundError:
        raise InstanceError(f"{paths.recovery_pub}: recovery public key not found") from None
    except CryptoError as e:
        raise InstanceError(f"{paths.recovery_pub}: {e}") from None


def running_service_pid(root: Path) -> int | None:
    """The pid of a live ``hotline serve`` for this folder, if any.

    A pid file left by a killed service may name another process by now, so
    the process's command line must be a Hotline service.
    """
    try:
        pid = int((root / PID_FILE).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if b"serve" in cmdline and any(b"hotline" in part for part in cmdline):
        return pid
    return None


def refuse_if_running(root: Path) -> None:
    pid = running_service_pid(root)
    if pid is not None and pid != os.getpid():
        raise UsageError(f"{root}: the service is running (pid {pid}); stop it first "
                         "(systemctl stop hotline)")
