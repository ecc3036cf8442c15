"""``hotline backup`` / ``hotline restore`` for an instance on PostgreSQL.

The main database only, never the key store (a database of its own, with its
own role and URL, in a cluster of its own: docs/deploy.md). Like the SQLite
backup, a dump holds envelopes and metadata and no key that opens them; the
keys live in the key store, wrapped under epoch keys in ``secrets/``. That is
why these dumps can be kept as long as policy allows (CRYPTO.md §13).

* ``backup_postgresql`` — ``pg_dump --format=custom`` taken inside a snapshot
  this module exports, so the tip count and schema version it reports are
  those of the very rows dumped. Written to ``NAME.partial`` (0600), fsynced,
  renamed; then read back whole (``inspect_dump``) before it is called done.
* ``inspect_dump`` — the SQLite backup's ``inspect_backup`` for a dump:
  ``pg_restore`` reads every block (a truncated or altered file fails), then
  the instance id, recovery key fingerprint, schema version and tip count are
  read out of the dump itself, not from the server it came from.
* ``restore_postgresql`` — into an EMPTY database (a non-empty one is refused
  unless ``replace``; then its content is first dumped beside the other
  backups as ``before-restore-STAMP.pgdump``), in one transaction, then the
  migrations bring it to this code's version.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from ..errors import InstanceError, UsageError
from .backup import BackupInfo
from .pg_tools import Target, find_tool, reason, run_tool

SUFFIX = ".pgdump"
Migrate = Callable[[str], list[str]]  # database URL -> names of the migrations applied


@dataclass(frozen=True)
class DumpInfo(BackupInfo):
    instance_id: str
    recovery_fingerprint: str


def backup_name(prefix: str = "backup") -> str:
    return f"{prefix}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}{SUFFIX}"


def backup_postgresql(url: str, out: Path) -> DumpInfo:
    """Dump the main database at ``url`` to ``out``; the front ends may keep running."""
    if out.exists():
        raise UsageError(f"{out}: already exists; refusing to overwrite a backup")
    pg_dump = find_tool("pg_dump")
    target = Target.parse(url)
    conn = target.connect(autocommit=False)
    try:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        _require_main_database(conn, target)
        snapshot = _one(conn, "SELECT pg_export_snapshot()")
        _dump(pg_dump, target, out, ["--snapshot", snapshot])
    except psycopg.OperationalError as e:
        raise InstanceError(f"the {target.describe()} went away during the backup: "
                            f"{reason(e)}") from None
    finally:
        conn.close()
    return inspect_dump(out)


def _one(conn: psycopg.Connection, query: str) -> str:
    row = conn.execute(query.encode()).fetchone()
    return "" if row is None or row[0] is None else str(row[0])


def _require_main_database(conn: psycopg.Connection, target: Target) -> None:
    """Only a Hotline main database: never the key store, never somebody else's."""
    present = conn.execute(
        "SELECT to_regclass('meta') IS NOT NULL, to_regclass('tips') IS NOT NULL").fetchone()
    if present != (True, True):
        raise UsageError(f"the {target.describe()} is not a Hotline main database (no meta "
                         "and tips tables); is the URL the key store's?")


def _dump(pg_dump: str, target: Target, out: Path, extra: list[str]) -> None:
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        run_tool(pg_dump, ["--format=custom", "--compress=6", f"--file={partial}", *extra,
                           "--dbname", target.conninfo], target,
                 what=f"backup of the {target.describe()}")
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, out)
        _fsync_dir(out.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def inspect_dump(path: Path) -> DumpInfo:
    """Read the whole dump back and what it says about itself; refuse anything else."""
    if not path.is_file():
        raise UsageError(f"{path}: no such backup file")
    pg_restore = find_tool("pg_restore")
    what = f"{path}: not a whole Hotline database dump"
    run_tool(pg_restore, ["--file", os.devnull, str(path)], None, what=what, error=UsageError)
    meta = dict(_table_rows(pg_restore, path, "meta", what))
    versions = [int(row[0]) for row in _table_rows(pg_restore, path, "schema_migrations", what)]
    tips = len(_table_rows(pg_restore, path, "tips", what))
    instance_id, fingerprint = meta.get("instance_id"), meta.get("recovery_fingerprint")
    if not instance_id or not fingerprint or not versions:
        raise UsageError(f"{path}: not a Hotline database dump (no instance id or schema "
                         "version in it)")
    return DumpInfo(path, max(versions), tips, path.stat().st_size, instance_id, fingerprint)


def _table_rows(pg_restore: str, path: Path, table: str, what: str) -> list[list[str]]:
    """The rows of one table in the dump, from pg_restore's COPY text."""
    text = run_tool(pg_restore, ["--data-only", "--table", table, "--file", "-", str(path)],
                    None, what=what, error=UsageError).stdout
    rows, inside = [], False
    for line in text.splitlines():
        if line.startswith("COPY "):
            inside = True
        elif inside and line == "\\.":
            inside = False
        elif inside:
            rows.append([_unescape(field) for field in line.split("\t")])
    return rows


def _unescape(field: str) -> str:
    """COPY text format: backslash escapes (\\t, \\n, \\\\), \\N for NULL."""
    if field == "\\N":
        return ""
    out, i = [], 0
    codes = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\", "b": "\b", "f": "\f", "v": "\v"}
    while i < len(field):
        if field[i] == "\\" and i + 1 < len(field):
            out.append(codes.get(field[i + 1], field[i + 1]))
            i += 2
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


# -- restore -------------------------------------------------------------------


@dataclass(frozen=True)
class PgRestoreInfo:
    instance_id: str
    tips: int
    schema_version: int
    migrations: list[str]
    previous: Path | None  # where the replaced content was dumped


def restore_postgresql(url: str, dump: Path, *, recovery_fingerprint: str, latest: int,
                       keep_dir: Path, migrate: Migrate | None, replace: bool = False
                       ) -> PgRestoreInfo:
    """Restore ``dump`` into the database at ``url``, then migrate it.

    ``recovery_fingerprint`` is the instance's recovery key: a dump made for
    another one is refused, as on SQLite. ``latest`` is this code's schema
    version: a newer dump is a downgrade, refused.
    """
    info = inspect_dump(dump)
    if info.schema_version > latest:
        raise InstanceError(
            f"{dump} is at schema version {info.schema_version}, newer than this Hotline "
            f"({latest}): this is a downgrade, which is refused. Install the newer Hotline "
            "again, or restore an older dump")
    if info.recovery_fingerprint != recovery_fingerprint:
        raise UsageError(f"{dump}: made for recovery key {info.recovery_fingerprint}, but "
                         f"this instance's is {recovery_fingerprint}")
    target = Target.parse(url)
    pg_restore = find_tool("pg_restore")
    previous = None
    with target.connect() as conn:
        tables = _user_tables(conn)
        if tables:
            if not replace:
                raise UsageError(
                    f"the {target.describe()} is not empty ({len(tables)} tables, e.g. "
                    f"{', '.join(tables[:3])}): restore into an empty database, or pass "
                    "--replace to keep its content as a dump in the backups folder and "
                    "replace it; nothing was changed")
            _refuse_other_sessions(conn, target)
            previous = keep_dir / backup_name("before-restore")
            _dump(find_tool("pg_dump"), target, previous, [])
            _empty(conn, target)
    run_tool(pg_restore, ["--no-owner", "--no-privileges", "--exit-on-error",
                          "--single-transaction", "--dbname", target.conninfo, str(dump)],
             target, what=f"restore into the {target.describe()} (nothing was restored)")
    with target.connect() as conn:
        restored = int(_one(conn, "SELECT COUNT(*) FROM tips"))
    if restored != info.tips:
        raise InstanceError(f"restore into the {target.describe()}: {restored} tips arrived, "
                            f"the dump holds {info.tips}")
    applied = migrate(url) if migrate is not None else []
    return PgRestoreInfo(info.instance_id, info.tips, info.schema_version, applied, previous)


def _user_tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        "   AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        "   AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"
        " ORDER BY 1").fetchall()
    return [str(r[0]) for r in rows]


def _refuse_other_sessions(conn: psycopg.Connection, target: Target) -> None:
    others = int(_one(conn, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname ="
                      " current_database() AND pid <> pg_backend_pid()"))
    if others:
        raise UsageError(f"the {target.describe()} has {others} other open sessions: stop "
                         "every front end (and anything else using it) before replacing it; "
                         "nothing was changed")


def _empty(conn: psycopg.Connection, target: Target) -> None:
    """Drop every schema of ours and give back an empty ``public``."""
    schemas = [str(r[0]) for r in conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog',"
        " 'information_schema') AND nspname NOT LIKE 'pg\\_%'").fetchall()]
    try:
        with conn.transaction():
            for schema in schemas:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            conn.execute("CREATE SCHEMA public")
    except psycopg.Error as e:
        raise InstanceError(f"cannot empty the {target.describe()} before the restore "
                            f"({reason(e)}); its content is kept in the backups folder") from None
