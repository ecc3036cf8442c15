"""Re-seal tips to a new advocate with the offline recovery key.

For the day every advocate on a tip has lost their key: the administrator
removes the lost keys (``hotline advocate remove``), registers the new
advocate, brings the recovery key file to the server (passphrase-protected;
take it away again afterwards) and runs ``hotline recover``. Each message's
key is opened with the recovery key and sealed again (``crypto.reseal``: same
message key, so attachments stay readable) to the new advocate, the recovery
key, the reporter's reply key if the message was sealed to it, and every
still-active advocate it was sealed to. Plaintext exists only in this
process's memory while a message is re-sealed. One transaction per tip; each
tip's re-sealing is in the audit log (fingerprint and counts, never content).

Safe while the service runs: the database is written through SQLite's own
locking, and the key store is only read.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from crypto import (
    CryptoError,
    Identity,
    PublicIdentity,
    Recipient,
    read_header,
    reseal,
    unwrap,
    wrap,
)

from ..errors import NotFound, UsageError
from ..instance import InstancePaths
from ..store import initialise
from ..store.connection import open_sqlite
from ..store.queries import audit
from .instance_check import load_recovery_pub


@dataclass(frozen=True)
class RecoverReport:
    tips: int
    messages: int
    skipped: int  # messages the recovery key could not open
    tip_ids: tuple[str, ...]


def orphaned_tip_ids(conn: sqlite3.Connection) -> list[str]:
    """Tips no active advocate can read: everyone they were shared with was removed."""
    return [r[0] for r in conn.execute(
        "SELECT t.id FROM tips t WHERE NOT EXISTS (SELECT 1 FROM tip_advocates ta"
        " JOIN advocates a ON a.id = ta.advocate_id WHERE ta.tip_id = t.id AND a.active = 1)"
        " ORDER BY t.created_at")]


def resolve_tip(conn: sqlite3.Connection, tip: str) -> str:
    """A tip id, or the short reference on a page (ABC-DEF)."""
    row = conn.execute("SELECT id FROM tips WHERE id = ? OR ref = ?",
                       (tip, tip.upper())).fetchone()
    if row is None:
        raise NotFound(f"no tip '{tip}'")
    return str(row[0])


def recover(root: Path, recovery: Identity, to_name: str, tips: list[str] | None) -> RecoverReport:
    """Re-seal ``tips`` (default: every orphaned tip) to the advocate ``to_name``."""
    paths = InstancePaths(root)
    expected = load_recovery_pub(paths)
    if recovery.fingerprint != expected.fingerprint:
        raise UsageError(f"this is not the instance's recovery key (expected "
                         f"{expected.fingerprint}, got {recovery.fingerprint})")
    initialise(paths.database)
    conn = open_sqlite(paths.database)
    keys = sqlite3.connect(f"file:{paths.keystore}?mode=ro", uri=True)
    try:
        target = _advocate(conn, to_name)
        ids = [resolve_tip(conn, t) for t in tips] if tips else orphaned_tip_ids(conn)
        total = skipped = 0
        for tip_id in ids:
            done, bad = _recover_tip(conn, keys, recovery, expected, target, tip_id)
            total, skipped = total + done, skipped + bad
        return RecoverReport(len(ids), total, skipped, tuple(ids))
    finally:
        keys.close()
        conn.close()


@dataclass(frozen=True)
class _Advocate:
    id: int
    fingerprint: str
    recipient: Recipient


def _advocate(conn: sqlite3.Connection, name: str) -> _Advocate:
    row = conn.execute("SELECT id, pub_file FROM advocates WHERE name = ? AND active = 1",
                       (name,)).fetchone()
    if row is None:
        raise NotFound(f"no active advocate named '{name}' (register them first with "
                       "'hotline advocate add')")
    public = PublicIdentity.from_pub_file(bytes(row[1]))
    return _Advocate(int(row[0]), public.fingerprint, public.recipient())


def _recover_tip(conn: sqlite3.Connection, keys: sqlite3.Connection, recovery: Identity,
                 recovery_pub: PublicIdentity, target: _Advocate, tip_id: str) -> tuple[int, int]:
    row = keys.execute("SELECT key FROM tip_keys WHERE tip_id = ?", (tip_id,)).fetchone()
    if row is None:
        raise NotFound(f"tip {tip_id} has no storage key: it was deleted (crypto-shredded)")
    key = bytes(row[0])
    active = {r[0]: Recipient(r[0], bytes(r[1])) for r in conn.execute(
        "SELECT fingerprint, box_public FROM advocates WHERE active = 1")}
    tip = conn.execute("SELECT reply_fingerprint, reply_public FROM tips WHERE id = ?",
                       (tip_id,)).fetchone()
    reporter = None if tip[0] is None else Recipient(tip[0], bytes(tip[1]))
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = skipped = 0
        for message_id, wrapped in conn.execute(
                "SELECT id, envelope FROM messages WHERE tip_id = ? ORDER BY seq",
                (tip_id,)).fetchall():
            fresh = _reseal_one(bytes(wrapped), key, tip_id, recovery, recovery_pub, target,
                                active, reporter)
            if fresh is None:
                skipped += 1
                continue
            conn.execute("UPDATE messages SET envelope = ? WHERE id = ?", (fresh, message_id))
            done += 1
        conn.execute("INSERT OR IGNORE INTO tip_advocates (tip_id, advocate_id) VALUES (?, ?)",
                     (tip_id, target.id))
        audit(conn, "cli", "tip.recovered", tip_id,
              f"to={target.fingerprint} messages={done} skipped={skipped}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return done, skipped


def _reseal_one(wrapped: bytes, key: bytes, tip_id: str, recovery: Identity,
                recovery_pub: PublicIdentity, target: _Advocate, active: dict[str, Recipient],
                reporter: Recipient | None) -> bytes | None:
    try:
        envelope = unwrap(key, wrapped, label=tip_id)
        before = set(read_header(envelope).recipients)
        recipients = {target.fingerprint: target.recipient,
                      recovery_pub.fingerprint: recovery_pub.recipient()}
        recipients |= {fp: r for fp, r in active.items() if fp in before}
        if reporter is not None and reporter.fingerprint in before:
            recipients[reporter.fingerprint] = reporter
        return wrap(key, reseal(envelope, recovery, list(recipients.values())), label=tip_id)
    except CryptoError:
        return None
