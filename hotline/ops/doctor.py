"""``hotline doctor DIR``: what is wrong with an instance, one line per problem.

Read-only: it never fixes anything (a fix to permissions or configuration is
the administrator's to make, and each line says what to do). Every check
runs even when an earlier one failed, so one run lists everything.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from triage_rules import RuleError, load_rules

from ..config import Config, load_config
from ..console.assets import LibsodiumSource, find_libsodium
from ..console.libsodium_pin import check_files
from ..errors import HotlineError
from ..instance import InstancePaths
from ..keystore import EpochFolder, keystore_target
from ..keystore.offline import epoch_rows, held_tip_ids
from ..keystore.rotation import parse_utc
from ..server_secret import load_server_secret
from ..store.factory import connect_sync
from ..store.migrate import latest_version
from ..store.pg_migrate import current_version
from ..store.seam import StoreTarget, store_target
from .instance_check import load_recovery_pub

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")
CLOCK_EARLIEST = datetime(2024, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)

Check = Callable[[InstancePaths, Config | None], list[str]]


def diagnose(root: Path, now: datetime | None = None) -> list[str]:
    """Every problem found, as ``where: what (what to do)`` lines; empty if none."""
    paths = InstancePaths(root)
    if not paths.config.exists():
        return [f"{root}: not an instance folder (no {paths.config.name}); run 'hotline init'"]
    problems: list[str] = []
    config: Config | None = None
    try:
        config = load_config(root)
    except HotlineError as e:
        problems.append(e.public_message)
    moment = now or datetime.now(UTC)
    for check in (_permissions, _secrets, _epochs, _database, _twilio, _public_url, _rules, _disk, _console):
        try:
            problems += check(paths, config)
        except Exception as e:  # a check that crashes is itself a finding, not a traceback
            problems.append(f"{root}: the {check.__name__.strip('_')} check failed "
                            f"({type(e).__name__})")
    problems += _clock(paths, moment)
    return problems


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _permissions(paths: InstancePaths, _config: Config | None) -> list[str]:
    out = []
    root_mode = _mode(paths.root)
    if root_mode & 0o007:
        out.append(f"{paths.root}: other users can enter or read the instance folder "
                   f"(mode {root_mode:o}); run chmod 700 {paths.root}")
    if root_mode & 0o020:
        out.append(f"{paths.root}: the group can write to the instance folder (mode "
                   f"{root_mode:o}); run chmod 700 {paths.root}")
    for suffix in ("", "-wal", "-shm"):
        db = Path(str(paths.database) + suffix)
        if db.exists() and _mode(db) & 0o006:
            out.append(f"{db}: readable or writable by every user (mode {_mode(db):o}); "
                       f"run chmod 600 {db}")
    backups = paths.root / "backups"
    if backups.exists() and _mode(backups) & 0o077:
        out.append(f"{backups}: others can read the backups folder (mode {_mode(backups):o}); "
                   f"run chmod 700 {backups}")
    return out


def _secrets(paths: InstancePaths, _config: Config | None) -> list[str]:
    out = []
    folder = paths.secrets_dir
    if not folder.is_dir():
        return [f"{folder}: missing (server secret and key store); restore them from the "
                "secrets backup ('hotline restore --secrets')"]
    if _mode(folder) & 0o077:
        out.append(f"{folder}: readable by other users (mode {_mode(folder):o}); refusing to "
                   f"call this safe; run chmod 700 {folder}")
    for item in sorted(folder.iterdir()):
        if item.is_file() and _mode(item) & 0o077:
            out.append(f"{item}: readable by other users (mode {_mode(item):o}); "
                       f"run chmod 600 {item}")
        if item.is_file() and item.stat().st_uid != folder.stat().st_uid:
            out.append(f"{item}: owned by another user than {folder}; run chown")
    try:
        load_server_secret(paths.server_secret, {})
    except HotlineError as e:
        out.append(e.public_message)
    keystore = _keystore(paths, _config)
    if keystore.kind == "sqlite" and not keystore.exists():
        out.append(f"{paths.keystore}: key store missing; no stored report can be read")
    return out


def _keystore(paths: InstancePaths, config: Config | None) -> StoreTarget:
    """Where the key store lives (SQLite unless the config or environment name PostgreSQL)."""
    return keystore_target(paths.root, config["keystore.database"] if config else "sqlite")


def _epochs(paths: InstancePaths, config: Config | None) -> list[str]:
    """Epoch key files: private, present for every epoch a key is wrapped under, rotated."""
    folder = paths.secrets_dir / "epochs"
    target = _keystore(paths, config)
    if not target.exists():
        return []
    out = []
    if folder.is_dir():
        if _mode(folder) & 0o077:
            out.append(f"{folder}: readable by other users (mode {_mode(folder):o}); "
                       f"run chmod 700 {folder}")
        for item in sorted(folder.iterdir()):
            if item.is_file() and _mode(item) & 0o077:
                out.append(f"{item}: readable by other users (mode {_mode(item):o}); "
                           f"run chmod 600 {item}")
    try:
        rows = epoch_rows(target)
    except Exception as e:  # e.g. the key store's PostgreSQL database is unreachable
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return [*out, f"{target.describe()}: cannot read the key store ({reason})"]
    if rows is None:
        return out  # an older key store: upgraded (wrapped) at the next start
    present = set(EpochFolder(folder).on_disk())
    for row in rows:
        if row.id not in present:
            out.append(f"{folder}: epoch key {row.id} is missing but {row.keys} tip keys are "
                       "wrapped under it (restore the secrets backup)")
        if row.state == "retiring":
            out.append(f"{target.describe()}: a rotation was interrupted (epoch {row.id}); the "
                       "service finishes it, or run 'hotline keystore rotate'")
        if row.state == "current" and config is not None:
            age = (datetime.now(UTC) - parse_utc(row.created_at)).total_seconds()
            if age > 2 * config["keystore.epoch_rotation"]:
                out.append(f"{target.describe()}: the epoch key has not rotated for "
                           f"{age / 86400:.1f} days (is the service running? 'hotline keystore "
                           "rotate' does it)")
    return out


def _database(paths: InstancePaths, config: Config | None) -> list[str]:
    target = store_target(paths.root)
    if target.kind == "postgresql":
        return _pg_database(paths, target, config)
    db = paths.database
    if not db.exists():
        return [f"{db}: no database; run 'hotline init' or 'hotline restore'"]
    out = []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            out.append(f"{db}: damaged ({check}); restore the latest backup")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > latest_version():
            out.append(f"{db}: schema version {version} is newer than this Hotline "
                       f"({latest_version()}): a downgrade; install the newer release")
        out += _recovery_matches(paths, conn)
        out += _keys_present(paths, conn, config)
    finally:
        conn.close()
    return out


def _pg_database(paths: InstancePaths, target: StoreTarget, config: Config | None) -> list[str]:
    """The same checks on PostgreSQL: reachable, schema version, recovery key, storage keys."""
    where = target.describe()
    try:
        conn = connect_sync(target)
    except Exception as e:  # psycopg's message names host and database, never the password
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return [f"{where}: cannot connect ({reason}); check the server, "
                f"secrets/database-url or HOTLINE_DATABASE_URL"]
    out = []
    try:
        version = current_version(conn)
        if version == 0:
            return [f"{where}: no Hotline schema; run 'hotline init'"]
        if version > latest_version("postgresql"):
            out.append(f"{where}: schema version {version} is newer than this Hotline "
                       f"({latest_version('postgresql')}): a downgrade; install the newer release")
        out += _recovery_matches(paths, conn)
        keystore = _keystore(paths, config)
        if keystore.exists():
            tips = {str(r[0]) for r in conn.execute("SELECT id FROM tips").fetchall()}
            held = held_tip_ids(keystore)
            if tips - held:
                out.append(f"{keystore.describe()}: {len(tips - held)} tips have no storage key and "
                           "cannot be read (restore the matching secrets backup, or let "
                           "retention finish deleting them)")
    finally:
        conn.close()
    return out


def _latest_audit(paths: InstancePaths) -> str | None:
    """The newest audit time, from whichever store the instance uses (None if unreadable)."""
    target = store_target(paths.root)
    if target.kind == "postgresql":
        try:
            conn = connect_sync(target)
        except Exception:
            return None  # _database reports it
        try:
            row = conn.execute("SELECT MAX(at) FROM audit").fetchone()
        except Exception:
            return None
        finally:
            conn.close()
        return None if row is None else row[0]
    if not paths.database.exists():
        return None
    lite = sqlite3.connect(f"file:{paths.database}?mode=ro", uri=True)
    try:
        found = lite.execute("SELECT MAX(at) FROM audit").fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        lite.close()
    return None if found is None else found[0]


def _recovery_matches(paths: InstancePaths, conn: sqlite3.Connection) -> list[str]:
    try:
        recovery = load_recovery_pub(paths)
    except HotlineError as e:
        return [e.public_message]
    row = conn.execute("SELECT value FROM meta WHERE key = 'recovery_fingerprint'").fetchone()
    if row is not None and row[0] != recovery.fingerprint:
        return [f"{paths.recovery_pub}: fingerprint {recovery.fingerprint} is not the one the "
                f"database was made with ({row[0]})"]
    return []


def _keys_present(paths: InstancePaths, conn: sqlite3.Connection,
                  config: Config | None) -> list[str]:
    keystore = _keystore(paths, config)
    if not keystore.exists():
        return []
    tips = {str(r[0]) for r in conn.execute("SELECT id FROM tips").fetchall()}
    missing = len(tips - held_tip_ids(keystore))
    if missing:
        return [f"{keystore.describe()}: {missing} tips have no storage key and cannot be read "
                "(restore the matching secrets backup, or let retention finish deleting them)"]
    return []


def _twilio(_paths: InstancePaths, config: Config | None) -> list[str]:
    if config is None:
        return []
    sid, token, number = (config["twilio.account_sid"], config["twilio.auth_token"],
                          config["twilio.number"])
    if not (sid or token or number):
        return []  # Twilio is off, and says so at start
    out = []
    if not sid or not token:
        out.append("twilio: set both HOTLINE_TWILIO_ACCOUNT_SID and HOTLINE_TWILIO_AUTH_TOKEN "
                   "(one alone turns the Twilio channels off)")
    if sid and not ACCOUNT_SID.match(sid):
        out.append("twilio.account_sid: does not look like a Twilio account SID (AC + 32 hex)")
    if not number:
        out.append("twilio.number: missing; replies and pages need the hotline's own number")
    elif not E164.match(number):
        out.append(f"twilio.number: {number!r} is not in E.164 form (e.g. +15551234567)")
    url = urlsplit(config["service.public_url"])
    if url.scheme != "https":
        out.append("service.public_url: Twilio calls an https URL; signatures are computed "
                   "over it, so it must be the https:// address Twilio is given")
    if url.hostname in LOOPBACK:
        out.append("service.public_url: a loopback address; Twilio cannot reach it")
    if url.query or url.fragment:
        out.append("service.public_url: must not carry a query or fragment")
    return out


def _public_url(_paths: InstancePaths, config: Config | None) -> list[str]:
    if config is None:
        return []
    url = urlsplit(config["service.public_url"])
    if url.scheme == "http" and url.hostname not in LOOPBACK and \
            not (url.hostname or "").endswith(".onion"):
        return ["service.public_url: plain http on a public address; put the TLS proxy in "
                "front (deploy/) and use https://"]
    return []


def _rules(_paths: InstancePaths, config: Config | None) -> list[str]:
    if config is None:
        return []
    try:
        load_rules(config.rule_paths())
    except RuleError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        return [f"rules: the rule set does not load, the service will refuse to start: {first}"]
    return []


def _disk(paths: InstancePaths, config: Config | None) -> list[str]:
    minimum = config["ops.min_free_disk"] if config is not None else 500_000_000
    free = shutil.disk_usage(paths.root).free
    if free < minimum:
        return [f"{paths.root}: only {free // 1_000_000} MB free (ops.min_free_disk is "
                f"{minimum // 1_000_000} MB); free space or grow the disk"]
    return []


def console_source() -> LibsodiumSource | None:
    """The libsodium.js copy ``hotline serve`` would serve the console from, with this
    process's environment (so run doctor with the service's environment)."""
    return find_libsodium()


def _console(_paths: InstancePaths, _config: Config | None) -> list[str]:
    source = console_source()
    if source is None:
        return ["console: libsodium.js not found, so /console answers 503 (install Hotline from "
                "a wheel, which carries it, or run 'npm ci' in the checkout; see docs/deploy.md)"]
    return [f"console: {p} (the console's crypto code is not the pinned libsodium.js; "
            "reinstall the wheel or run 'npm ci')" for p in check_files(source.root)]


def _clock(paths: InstancePaths, now: datetime) -> list[str]:
    if now < CLOCK_EARLIEST:
        return [f"clock: the system time {now:%Y-%m-%d} is in the past; enable NTP "
                "(timedatectl set-ntp true)"]
    stamp = _latest_audit(paths)
    if stamp:
        latest = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if latest - now > CLOCK_SKEW:
            return [f"clock: the database has entries from {stamp}, later than now "
                    f"({now:%Y-%m-%dT%H:%M:%SZ}); the clock went back; check NTP"]
    return []
