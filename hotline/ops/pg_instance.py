"""``hotline backup`` / ``restore`` / ``doctor`` for an instance folder whose store is PostgreSQL.

The glue between an instance (its config, recovery key, backups folder and
the database URL the store seam resolves, password included from
``secrets/database-url`` or the environment) and the URL-level functions in
``pg_backup`` and ``pg_doctor``. The SQLite verbs stay in ``backup``/``doctor``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InstanceError, UsageError
from ..instance import InstancePaths
from ..store.factory import initialise_store
from ..store.migrate import latest_version
from ..store.seam import StoreTarget, store_target
from .instance_check import load_recovery_pub

if TYPE_CHECKING:  # psycopg loads only for PostgreSQL instances, as in store/factory.py
    from .pg_backup import DumpInfo, PgRestoreInfo
    from .pg_doctor import PgDiagnosis

KIND = "postgresql"


def postgres_url(root: Path) -> str | None:
    """The instance's PostgreSQL URL (with its password), or None for a SQLite instance."""
    if not InstancePaths(root).config.exists():
        raise InstanceError(f"{root}: not an instance folder (no hotline.toml); run "
                            "'hotline init'")
    target = store_target(root)
    if target.kind != KIND:
        return None
    assert target.url is not None
    return target.url


def keystore_url(root: Path) -> str | None:
    """The instance's key store URL when it is on PostgreSQL (for doctor's separation checks)."""
    from ..config import load_config
    from ..keystore import keystore_target

    config = load_config(root)
    target = keystore_target(root, config["keystore.database"], main=store_target(root))
    return target.url if target.kind == KIND else None


def backups_dir(root: Path) -> Path:
    """``ops.backup_dir`` of the instance (``backups`` inside it by default)."""
    from ..config import load_config

    folder = Path(load_config(root)["ops.backup_dir"])
    return folder if folder.is_absolute() else root / folder


def default_backup_path(root: Path, suffix: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return backups_dir(root) / f"backup-{stamp}{suffix}"


def backup(root: Path, url: str, out: Path | None) -> DumpInfo:
    from .pg_backup import backup_postgresql

    return backup_postgresql(url, out or default_backup_path(root, ".pgdump"))


def restore(root: Path, url: str, dump: Path, *, replace: bool) -> PgRestoreInfo:
    from .pg_backup import restore_postgresql

    recovery = load_recovery_pub(InstancePaths(root))
    keep = backups_dir(root)

    def migrate(target_url: str) -> list[str]:
        return initialise_store(StoreTarget("postgresql", url=target_url, root=root), keep)

    return restore_postgresql(url, dump, recovery_fingerprint=recovery.fingerprint,
                              latest=latest_version(KIND), keep_dir=keep, migrate=migrate,
                              replace=replace)


def diagnose(url: str, *, keystore_url: str | None, replica_url: str | None) -> PgDiagnosis:
    from .pg_doctor import diagnose_postgresql

    for given, flag in ((keystore_url, "--keystore-url"), (replica_url, "--replica-url")):
        if given is not None and not given.startswith(("postgresql://", "postgres://")):
            raise UsageError(f"{flag}: must be a postgresql://user@host:port/database URL")
    return diagnose_postgresql(url, latest=latest_version(KIND), keystore_url=keystore_url,
                               replica_url=replica_url, check_schema=False)
