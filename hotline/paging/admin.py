"""Administrators' changes to paging, written straight to the instance's database.

Each setter validates with the pure core (the same parser the service uses)
and checks every name against the active advocates before writing, so the
running service never reads a rotation or policy it cannot use. The service
reads these tables for every message, so a change applies to the next one.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from ..errors import BadRequest, NotFound
from ..instance import InstancePaths
from ..instance_setup import _connect
from ..store.queries import audit
from .directory import _QUERY, ADMINS, NOTIFIER_KINDS, Directory, directory_from_rows
from .escalation import ONCALL, escalation_policy_from_dict
from .oncall import local_instant, rotation_from_dict


def _active_names(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM advocates WHERE active = 1")}


def _check_names(conn: sqlite3.Connection, names: list[str], what: str,
                 allowed_groups: tuple[str, ...] = ()) -> None:
    active = _active_names(conn)
    for name in names:
        if name not in active and name not in allowed_groups:
            raise NotFound(f"{what}: no active advocate named '{name}'")


def _setting(conn: sqlite3.Connection, key: str) -> dict[str, object] | None:
    row = conn.execute("SELECT value FROM paging_settings WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else None


def _store(conn: sqlite3.Connection, key: str, value: dict[str, object] | None) -> None:
    if value is None:
        conn.execute("DELETE FROM paging_settings WHERE key = ?", (key,))
    else:
        conn.execute("INSERT INTO paging_settings (key, value) VALUES (?, ?) ON CONFLICT (key)"
                     " DO UPDATE SET value = excluded.value", (key, json.dumps(value)))


def set_rotation(root: Path, table: dict[str, object] | None) -> None:
    """Replace the rotation (keeping its overrides if the new table has none); None clears it."""
    with _connect(InstancePaths(root)) as conn:
        if table is not None:
            old = _setting(conn, "rotation")
            if old and "overrides" not in table and old.get("overrides"):
                table = {**table, "overrides": old["overrides"]}
            rotation = rotation_from_dict(table)
            _check_names(conn, [*rotation.advocates, *(o.advocate for o in rotation.overrides)],
                         "rotation")
        _store(conn, "rotation", table)
        audit(conn, "cli", "oncall.rotation", detail="cleared" if table is None else
              f"advocates={len(table['advocates'])}")  # type: ignore[arg-type]


def add_override(root: Path, advocate: str, start: str, end: str) -> None:
    with _connect(InstancePaths(root)) as conn:
        table = _setting(conn, "rotation")
        if table is None:
            raise BadRequest("there is no rotation to override (set one with 'hotline oncall rotation')")
        overrides = list(table.get("overrides", []))  # type: ignore[call-overload]
        overrides.append({"advocate": advocate, "start": start, "end": end})
        table["overrides"] = overrides
        rotation_from_dict(table)
        _check_names(conn, [advocate], "override")
        _store(conn, "rotation", table)
        audit(conn, "cli", "oncall.override", detail=f"count={len(overrides)}")


def clear_overrides(root: Path) -> None:
    with _connect(InstancePaths(root)) as conn:
        table = _setting(conn, "rotation")
        if table is not None:
            table.pop("overrides", None)
            _store(conn, "rotation", table)
        audit(conn, "cli", "oncall.override", detail="cleared")


def set_escalation(root: Path, table: dict[str, object] | None) -> None:
    with _connect(InstancePaths(root)) as conn:
        if table is not None:
            policy = escalation_policy_from_dict(table)
            names = [t for lvl in policy.levels for t in lvl.targets]
            _check_names(conn, names, "escalation", (ONCALL, ADMINS))
        _store(conn, "escalation", table)
        audit(conn, "cli", "oncall.escalation",
              detail="cleared" if table is None else f"levels={len(table['levels'])}")  # type: ignore[arg-type]


def parse_via(text: str) -> list[tuple[str, str | None]]:
    """``sms,call,webhook=https://…`` → [(kind, target)]; ``default`` → [] (the defaults)."""
    if text.strip() == "default":
        return []
    chain: list[tuple[str, str | None]] = []
    for item in text.split(","):
        kind, _, target = item.strip().partition("=")
        chain.append((kind.strip(), target.strip() or None))
    return chain


def store_notifiers(conn: sqlite3.Connection, advocate_id: int, chain: list[tuple[str, str | None]],
                    *, actor: str) -> list[tuple[str, str | None]]:
    """Check and write an advocate's notifier order (in the caller's transaction)."""
    row = conn.execute("SELECT name, phone, email FROM advocates WHERE id = ? AND active = 1",
                       (advocate_id,)).fetchone()
    if row is None:
        raise NotFound("no such active advocate")
    name = row[0]
    if len(chain) > 8:
        raise BadRequest("at most 8 notifiers")
    resolved: list[tuple[str, str | None]] = []
    for kind, target in chain:
        if kind not in NOTIFIER_KINDS:
            raise BadRequest(f"unknown notifier '{kind}' (use {', '.join(NOTIFIER_KINDS)})")
        if kind in ("sms", "call"):
            if target and target != row[1]:
                raise BadRequest(f"{kind}: pages go to the phone the administrator registered")
            target = row[1]
            if not target:
                raise BadRequest(f"{kind}: {name} has no phone number (advocate add --phone)")
        elif kind == "email":
            if target and target != row[2]:
                raise BadRequest("email: pages go to the address the administrator registered")
            target = row[2]
            if not target:
                raise BadRequest(f"email: {name} has no e-mail address (advocate add --email)")
        elif kind == "webhook":
            if not target or not target.startswith(("https://", "http://")) or len(target) > 500:
                raise BadRequest("webhook: give its URL, as webhook=https://…")
        else:
            target = None
        resolved.append((kind, target))
    conn.execute("DELETE FROM advocate_notifiers WHERE advocate_id = ?", (advocate_id,))
    conn.executemany("INSERT INTO advocate_notifiers (advocate_id, position, kind, target)"
                     " VALUES (?,?,?,?)", [(advocate_id, i, k, t) for i, (k, t) in enumerate(resolved)])
    audit(conn, actor, "advocate.notifiers", detail=",".join(k for k, _ in resolved) or "default")
    return resolved


def set_notifiers(root: Path, name: str, chain: list[tuple[str, str | None]]) -> None:
    """The advocate's notifiers in order; an empty list restores the default."""
    with _connect(InstancePaths(root)) as conn:
        row = conn.execute("SELECT id FROM advocates WHERE name = ? AND active = 1", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no active advocate named '{name}'")
        store_notifiers(conn, row[0], chain, actor="cli")


def read_directory(root: Path) -> Directory:
    with _connect(InstancePaths(root)) as conn:
        conn.row_factory = None
        return directory_from_rows(conn.execute(_QUERY).fetchall())


def parse_at(value: str | None, directory: Directory) -> datetime:
    """``--at``: an ISO time with offset, or local to the rotation's zone (UTC without one)."""
    if value is None or value == "now":
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"--at: not a date and time: {value!r} (use YYYY-MM-DDTHH:MM)") from None
    if at.tzinfo is None:
        tz = directory.rotation.tz if directory.rotation is not None else None
        return local_instant(at, tz) if tz is not None else at.replace(tzinfo=UTC)
    return at.astimezone(UTC)
