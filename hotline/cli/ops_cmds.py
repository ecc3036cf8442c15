"""Operator verbs: backup, backup-secrets, restore, recover, doctor, retention.

Thin: parse, call ``hotline.ops``, print. Errors are one line naming the file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from ..errors import UsageError
from .common import print_json, print_table


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this module's verbs."""
    p = sub.add_parser("backup", help="online snapshot of the database (envelopes, no keys)")
    p.add_argument("dir")
    p.add_argument("out", nargs="?",
                   help="the backup file to write (refuses to overwrite); default: "
                        "backup-<time>.db (.pgdump on PostgreSQL) in the backups folder")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("backup-secrets",
                       help="key store + server secret, sealed to the recovery key (keep apart)")
    p.add_argument("dir")
    p.add_argument("out", help="the secrets backup file to write (refuses to overwrite)")
    p.set_defaults(func=cmd_backup_secrets)

    p = sub.add_parser("restore", help="put a database backup (and secrets backup) into DIR")
    p.add_argument("dir", help="an instance folder made with the same --recovery-pubkey")
    p.add_argument("backup", help="a file made by 'hotline backup'")
    p.add_argument("--secrets", help="a file made by 'hotline backup-secrets'")
    p.add_argument("--recovery-key", help="the recovery secret key file (opens --secrets)")
    p.add_argument("--replace", action="store_true",
                   help="PostgreSQL: replace a database that is not empty (its content is "
                        "dumped into the backups folder first)")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("recover", help="grant tips to a new advocate with the recovery key")
    p.add_argument("dir")
    p.add_argument("--recovery-key", required=True, help="the recovery secret key file")
    p.add_argument("--to", required=True, help="the (registered) advocate to grant the messages to")
    p.add_argument("--tip", action="append", default=[],
                   help="tip id or reference (repeatable); default: every tip no active "
                        "advocate can read")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_recover)

    p = sub.add_parser("doctor", help="check an instance: permissions, secrets, Twilio, clock, "
                                      "disk, rules")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")
    p.add_argument("--keystore-url", metavar="URL",
                   help="PostgreSQL: the key store's database, to check it is apart from the "
                        "main one (default: the instance's own key store when it is on "
                        "PostgreSQL; password from ~/.pgpass, never here)")
    p.add_argument("--replica-url", metavar="URL",
                   help="PostgreSQL: a streaming standby, to check it follows and its lag")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("rotate-secret", help="server secret: add a new current version, or "
                                             "retire an old one (--retire VERSION)")
    p.add_argument("dir")
    p.add_argument("--retire", type=int, metavar="VERSION",
                   help="destroy this old version (after secrets.retire_after)")
    p.add_argument("--force", action="store_true",
                   help="with --retire: do not wait for secrets.retire_after")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rotate_secret)

    ret = sub.add_parser("retention", help="retention: run, hold, release, delete, status")
    rsub = ret.add_subparsers(dest="sub", required=True, metavar="ACTION")
    p = rsub.add_parser("run", help="delete what is due now (service stopped), or --dry-run")
    p.add_argument("dir")
    p.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_retention_run)
    for verb, text in (("hold", "keep a tip whatever retention or the reporter asks"),
                       ("release", "lift a tip's hold"),
                       ("delete", "crypto-shred a tip at the next retention pass")):
        p = rsub.add_parser(verb, help=text)
        p.add_argument("dir")
        p.add_argument("tip", help="tip id or reference (ABC-DEF)")
        p.set_defaults(func=cmd_retention_mark, verb=verb)
    p = rsub.add_parser("status", help="holds, pending deletion requests, what is due")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_retention_status)


def cmd_backup(args: argparse.Namespace) -> int:
    from ..ops import pg_instance
    from ..ops.backup import backup_database

    root = Path(args.dir)
    out = Path(args.out) if args.out else None
    url = pg_instance.postgres_url(root)
    if url is not None:
        dump = pg_instance.backup(root, url, out)
        print(f"Backed up {dump.tips} tips (schema v{dump.schema_version}, {dump.size} bytes) "
              f"of the main PostgreSQL database to {dump.path} (pg_dump, read back whole). It "
              "holds envelopes only: the key store and secrets/ are not in it, on purpose "
              "('hotline backup-secrets'; docs/deploy.md).")
        return 0
    info = backup_database(root, out or pg_instance.default_backup_path(root, ".db"))
    print(f"Backed up {info.tips} tips (schema v{info.schema_version}, {info.size} bytes) to "
          f"{info.path}. It holds envelopes only: back up the secrets separately "
          "('hotline backup-secrets').")
    return 0


def cmd_backup_secrets(args: argparse.Namespace) -> int:
    from ..ops.backup import backup_secrets

    out = backup_secrets(Path(args.dir), Path(args.out))
    print(f"Secrets sealed to the recovery key in {out}. Keep it apart from the database "
          "backups, and only for a short rotation: while it exists, tips deleted since it was "
          "made can still be read from an old database backup.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from ..ops import pg_instance
    from ..ops.backup import open_secrets, restore
    from .common import load_key

    root = Path(args.dir)
    url = pg_instance.postgres_url(root)
    if url is not None:
        return _restore_postgresql(args, root, url)
    if args.replace:
        raise UsageError("--replace is for PostgreSQL instances; on SQLite, restore always "
                         "keeps the database it replaces in the backups folder")
    secrets = None
    if args.secrets:
        if not args.recovery_key:
            raise UsageError("--secrets needs --recovery-key (the backup is sealed to it)")
        secrets = open_secrets(Path(args.secrets), load_key(args.recovery_key))
    elif args.recovery_key:
        raise UsageError("--recovery-key is only needed with --secrets")
    info = restore(Path(args.dir), Path(args.backup), secrets)
    print(f"Restored instance {info.instance_id}: {info.tips} tips.")
    if info.previous is not None:
        print(f"The database it replaced is kept in {info.previous}.")
    if info.tips_without_key:
        print(f"warning: {info.tips_without_key} tips have no storage key in this key store "
              "and cannot be read; restore with --secrets from the same time", file=sys.stderr)
    return 0


def _restore_postgresql(args: argparse.Namespace, root: Path, url: str) -> int:
    from ..ops import pg_instance

    if args.secrets or args.recovery_key:
        raise UsageError("on a PostgreSQL instance, restore puts back the main database only: "
                         "restore secrets/ and the key store on their own (docs/deploy.md, "
                         "'Backups on PostgreSQL'); nothing was changed")
    info = pg_instance.restore(root, url, Path(args.backup), replace=args.replace)
    print(f"Restored instance {info.instance_id}: {info.tips} tips (schema "
          f"v{info.schema_version}) into the PostgreSQL database.")
    if info.migrations:
        print(f"Migrated: {', '.join(info.migrations)}.")
    if info.previous is not None:
        print(f"The content it replaced is kept in {info.previous}.")
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    from ..ops.recover import recover
    from .common import load_key

    report = recover(Path(args.dir), load_key(args.recovery_key), args.to, args.tip or None)
    if args.json:
        print_json({"tips": list(report.tip_ids), "messages": report.messages,
                    "skipped": report.skipped})
    else:
        print(f"Granted {report.messages} messages in {report.tips} tips to {args.to} "
              "(signed by the recovery key; the stored messages are unchanged).")
        if report.skipped:
            print(f"warning: {report.skipped} messages did not open with the recovery key and "
                  "were left as they were", file=sys.stderr)
    return 1 if report.skipped else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from ..errors import HotlineError
    from ..ops import pg_instance
    from ..ops.doctor import console_source, diagnose

    root = Path(args.dir)
    try:
        url = pg_instance.postgres_url(root)
    except HotlineError:
        url = None  # diagnose says what is wrong with the folder or its config
    if url is None and (args.keystore_url or args.replica_url):
        raise UsageError("--keystore-url and --replica-url are for PostgreSQL instances")
    problems = diagnose(root)
    notes: list[str] = []
    if url is not None and not any("cannot connect" in p for p in problems):
        keys = args.keystore_url
        if keys is None:
            try:
                keys = pg_instance.keystore_url(root)
            except HotlineError:
                keys = None  # diagnose already said what is wrong with the config
        found = pg_instance.diagnose(url, keystore_url=keys, replica_url=args.replica_url)
        problems += found.problems
        notes = found.notes
    source = console_source()
    if args.json:
        console = None if source is None else {"origin": source.origin, "path": str(source.root)}
        print(json.dumps({"ok": not problems, "problems": problems, "notes": notes,
                          "console_libsodium": console}, indent=2))
        return 1 if problems else 0
    if problems:
        for line in problems:
            print(line)
    else:
        print(f"OK: {args.dir} has no problems doctor knows of.")
    for note in notes:
        print(f"note: {note}")
    if source is not None:  # which copy, even when healthy: a wheel's, or a checkout's node_modules
        print(f"note: the console serves libsodium.js from {source.describe()}")
    return 1 if problems else 0


def cmd_rotate_secret(args: argparse.Namespace) -> int:
    """CRYPTO.md §8. Restart the service afterwards: it reads the secret at start."""
    from ..config import load_config
    from ..instance import InstancePaths
    from ..server_secret import retire_server_secret, rotate_server_secret

    root = Path(args.dir)
    if os.environ.get("HOTLINE_SERVER_SECRET"):
        raise UsageError("HOTLINE_SERVER_SECRET holds one key with no versions: keep the secret "
                         "in a file (HOTLINE_SERVER_SECRET_FILE or the instance's) to rotate it")
    if args.force and args.retire is None:
        raise UsageError("--force only goes with --retire VERSION")
    path = Path(os.environ.get("HOTLINE_SERVER_SECRET_FILE") or InstancePaths(root).server_secret)
    if args.retire is None:
        r = rotate_server_secret(path)
        text = (f"Server secret version {r.current} is now current (versions: "
                f"{', '.join(map(str, r.versions))}). Restart the service. Lookups match under "
                "every version and rewrite what they find to the new one; retire the old "
                "version with --retire after secrets.retire_after.")
    else:
        if args.force:
            print(f"WARNING: retiring version {args.retire} now, without waiting for "
                  "secrets.retire_after. Every SMS thread, receipt and idempotency key not yet "
                  "rewritten stops matching for good: those reporters start new threads and "
                  "their receipts are unknown.", file=sys.stderr)
        config = load_config(root)
        r = retire_server_secret(path, args.retire, config["secrets.retire_after"],
                                 force=args.force)
        text = (f"Server secret version {args.retire} destroyed (versions left: "
                f"{', '.join(map(str, r.versions))}). Restart the service. Rows still stored "
                "under it no longer match. Secrets backups made before now still hold it.")
    if args.json:
        print_json({"current": r.current, "versions": list(r.versions), "retired": r.retired})
    else:
        print(text)
    return 0


def cmd_retention_run(args: argparse.Namespace) -> int:
    from ..ops.instance_check import refuse_if_running
    from ..ops.runtime import retention_offline

    if not args.dry_run:
        refuse_if_running(Path(args.dir))  # its key cache must not outlive a shred
    deletions = asyncio.run(retention_offline(Path(args.dir), dry_run=args.dry_run))
    rows = [{"tip": d.tip_id, "reason": d.reason} for d in deletions]
    if args.json:
        print_json(rows)
        return 0
    verb = "Would delete" if args.dry_run else "Deleted"
    print(f"{verb} {len(rows)} tips.")
    if rows:
        print_table(rows, ["tip", "reason"])
    return 0


def cmd_retention_mark(args: argparse.Namespace) -> int:
    from ..ops.recover import resolve_tip
    from ..ops.retention import request_deletion, set_hold
    from ..ops.tx import transaction

    with transaction(Path(args.dir)) as conn:
        tip_id = resolve_tip(conn, args.tip)
        if args.verb == "delete":
            if conn.execute("SELECT 1 FROM retention_holds WHERE tip_id = ?",
                            (tip_id,)).fetchone():
                raise UsageError(f"tip {tip_id} is on hold; 'hotline retention release' first")
            request_deletion(conn, tip_id, "cli")
            print(f"Tip {tip_id} will be crypto-shredded at the next retention pass "
                  "(or run 'hotline retention run' with the service stopped).")
        else:
            changed = set_hold(conn, tip_id, "cli", args.verb == "hold")
            state = "held" if args.verb == "hold" else "released"
            print(f"Tip {tip_id} {state}." if changed else f"Tip {tip_id} was already {state}.")
    return 0


def cmd_retention_status(args: argparse.Namespace) -> int:
    from ..ops.runtime import retention_offline
    from ..ops.tx import transaction

    with transaction(Path(args.dir)) as conn:
        holds = [r[0] for r in conn.execute("SELECT tip_id FROM retention_holds ORDER BY held_at")]
        requests = [{"tip": r[0], "via": r[1], "requested_at": r[2], "due_at": r[3],
                     "state": r[4]} for r in conn.execute(
            "SELECT tip_id, via, requested_at, effective_at, state FROM deletion_requests"
            " WHERE state != 'cancelled' ORDER BY requested_at")]
    due = asyncio.run(retention_offline(Path(args.dir), dry_run=True))
    doc = {"held": holds, "requests": requests,
           "due": [{"tip": d.tip_id, "reason": d.reason} for d in due]}
    if args.json:
        print_json(doc)
        return 0
    print(f"Held: {len(holds)}  Pending requests: {len(requests)}  Due now: {len(due)}")
    for tip in holds:
        print(f"  held     {tip}")
    for r in requests:
        print(f"  request  {r['tip']} via {r['via']} at {r['requested_at']}, {r['state']},"
              f" due {r['due_at']}")
    for d in due:
        print(f"  due      {d.tip_id} ({d.reason})")
    return 0
