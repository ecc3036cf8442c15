"""Where everything of one instance lives inside its folder.

``secrets/`` holds what must never be in the database or its backups: the
server secret (thread hashes, receipt lookups, CSRF) and the key store of
per-tip storage keys (crypto-shredding). Back up the database without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import CONFIG_FILENAME
from .store import DB_FILENAME


@dataclass(frozen=True)
class InstancePaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILENAME

    @property
    def database(self) -> Path:
        return self.root / DB_FILENAME

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    @property
    def server_secret(self) -> Path:
        return self.secrets_dir / "server-secret.json"

    @property
    def keystore(self) -> Path:
        return self.secrets_dir / "keystore.db"

    @property
    def recovery_pub(self) -> Path:
        return self.root / "recovery.pub"

    @property
    def rules_dir(self) -> Path:
        return self.root / "rules"
