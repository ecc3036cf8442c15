"""Give a new advocate a tip's messages with the offline recovery key, by adding grants.

For the day every advocate on a tip has lost their key: the administrator
removes the lost keys (``hotline advocate remove``), registers the new
advocate, brings the recovery key file to the server (passphrase-protected;
take it away again afterwards) and runs ``hotline recover``. Each message is
opened with the recovery key and its key is granted to the new advocate: a
key grant (crypto/SPEC.md §10) signed by the recovery key's Ed25519 half,
which readers accept because the recovery key is a recipient of every
envelope. Stored envelopes are never replaced (they stay byte for byte as
they were), so nothing a reporter or advocate wrote can be changed this way.
Plaintext exists only in this process's memory while a grant is made. One
transaction per tip; each tip's recovery is in the audit log (fingerprint and
counts, never content). Running it twice adds nothing the second time.

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
    make_grant,
    open_envelope,
    read_header,
    unwrap,
)

from ..config import load_config
from ..errors import NotFound, UsageError
from ..instance import InstancePaths
from ..keystore import initialise_keystore_target, keystore_target
from ..keystore.offline import OfflineKeys, offline_keys_at
from ..store.factory import begin_statement, connect_sync, initialise_store
from ..store.grants import NewGrant, grantees, insert_grants
from ..store.queries import audit, utc_now_text
from ..store.seam import store_target
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
    """Grant ``tips`` (default: every orphaned tip) to the advocate ``to_name``."""
    paths = InstancePaths(root)
    expected = load_recovery_pub(paths)
    if recovery.fingerprint != expected.fingerprint:
        raise UsageError(f"this is not the instance's recovery key (expected "
                         f"{expected.fingerprint}, got {recovery.fingerprint})")
    store = store_target(root)
    initialise_store(store)
    keystore = keystore_target(root, load_config(root)["keystore.database"], main=store)
    initialise_keystore_target(keystore)  # an older key store is upgraded first
    conn = connect_sync(store)
    with offline_keys_at(keystore) as keys:
        return _recover_all(conn, keys, recovery, to_name, tips)


def _recover_all(conn: sqlite3.Connection, keys: OfflineKeys, recovery: Identity, to_name: str,
                 tips: list[str] | None) -> RecoverReport:
    try:
        target = _advocate(conn, to_name)
        ids = [resolve_tip(conn, t) for t in tips] if tips else orphaned_tip_ids(conn)
        total = skipped = 0
        for tip_id in ids:
            done, bad = _recover_tip(conn, keys, recovery, target, tip_id)
            total, skipped = total + done, skipped + bad
        return RecoverReport(len(ids), total, skipped, tuple(ids))
    finally:
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


def _recover_tip(conn: sqlite3.Connection, keys: OfflineKeys, recovery: Identity,
                 target: _Advocate, tip_id: str) -> tuple[int, int]:
    key = keys.get(tip_id)
    if key is None:
        raise NotFound(f"tip {tip_id} has no storage key: it was deleted (crypto-shredded)")
    conn.execute(begin_statement(conn))
    try:
        new: list[NewGrant] = []
        skipped = 0
        for message_id, wrapped in conn.execute(
                "SELECT id, envelope FROM messages WHERE tip_id = ? ORDER BY seq",
                (tip_id,)).fetchall():
            if target.fingerprint in grantees(conn, message_id):
                continue  # granted by an earlier run
            outcome = _grant_one(bytes(wrapped), key, tip_id, recovery, target)
            if outcome is None:
                skipped += 1
            elif outcome:
                new.append(NewGrant(message_id, target.fingerprint, recovery.fingerprint, outcome))
        insert_grants(conn, key, tip_id, utc_now_text(), new)
        conn.execute("INSERT INTO tip_advocates (tip_id, advocate_id) VALUES (?, ?)"
                     " ON CONFLICT DO NOTHING",
                     (tip_id, target.id))
        audit(conn, "cli", "tip.recovered", tip_id,
              f"to={target.fingerprint} granted={len(new)} skipped={skipped}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(new), skipped


def _grant_one(wrapped: bytes, key: bytes, tip_id: str, recovery: Identity,
               target: _Advocate) -> bytes | None:
    """A grant of this message to ``target`` signed by the recovery key; b"" if the target
    can read it already; None if the recovery key does not open it."""
    try:
        envelope = unwrap(key, wrapped, label=tip_id)
        if target.fingerprint in read_header(envelope).recipients:
            return b""
        return make_grant(open_envelope(envelope, recovery), recovery, target.recipient)
    except CryptoError:
        return None
