"""``hotline keystore rotate|status DIR``: the key store's epoch keys, by hand.

Every front end rotates by itself once the current epoch is older than
``keystore.epoch_rotation``; ``rotate`` does it now (after a shred that must
be final sooner, or to finish a rotation that was interrupted) and is safe
while the service runs: rotations are serialised, and front ends read new
epoch keys from the folder when a row names one they have not seen.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict
from pathlib import Path

from ..errors import UsageError
from .common import print_json, print_table


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this module's verbs."""
    group = sub.add_parser("keystore", help="the key store's epoch keys: rotate, status")
    verbs = group.add_subparsers(dest="sub", required=True, metavar="ACTION")
    p = verbs.add_parser("rotate", help="new epoch key, re-wrap every tip key, destroy the old "
                                        "one (finishes an interrupted rotation first)")
    p.add_argument("dir")
    p.add_argument("--batch", type=int, default=None,
                   help="tip keys re-wrapped per transaction (default keystore.rotation_batch)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rotate)
    p = verbs.add_parser("status", help="epochs: when made, state, how many keys, file present")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)


def _keystore(root: Path, batch: int | None = None):  # type: ignore[no-untyped-def]
    from ..config import load_config
    from ..keystore import keystore_target, open_keystore
    from ..logging import configure_logging
    from ..store.seam import store_target

    config = load_config(root)
    log_file = config["service.log_file"]  # a rotation is logged where the service logs
    configure_logging(config["service.log_format"], "warning", root / log_file if log_file else None)
    if batch is not None and not 1 <= batch <= 100_000:
        raise UsageError("--batch: must be between 1 and 100000")
    main = store_target(root)
    target = keystore_target(root, config["keystore.database"], main=main)
    if not target.exists():
        raise UsageError(f"{target.describe()}: no key store (is {root} an instance?)")
    values = dict(config.values)
    if batch is not None:
        values["keystore.rotation_batch"] = batch
    return open_keystore(root, values, main=main)


def cmd_rotate(args: argparse.Namespace) -> int:
    keystore = _keystore(Path(args.dir), args.batch)

    async def run():  # type: ignore[no-untyped-def]
        await keystore.open()
        try:
            return await keystore.rotate()
        finally:
            await keystore.close()

    report = asyncio.run(run())
    if args.json:
        print_json(asdict(report))
        return 0
    made = f"Epoch {report.created} is current. " if report.created else ""
    print(f"{made}Re-wrapped {report.rewrapped} tip keys; destroyed epoch key(s) "
          f"{', '.join(report.retired) or '(none)'}. A tip shredded before now can no longer be "
          "opened from any copy of the key store (its WAL, old files, backups); only secrets "
          "backups made before now still hold the destroyed key (keep them only briefly).")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from ..keystore.rotation import epoch_status

    keystore = _keystore(Path(args.dir))

    async def run():  # type: ignore[no-untyped-def]
        await keystore.open()
        try:
            return await epoch_status(keystore.db, keystore.epochs)
        finally:
            await keystore.close()

    rows = [asdict(e) for e in asyncio.run(run())]
    if args.json:
        print_json(rows)
        return 0
    print_table([{**r, "keys": str(r["keys"]), "file_present": "yes" if r["file_present"] else "no"}
                 for r in rows], ["id", "state", "created_at", "destroyed_at", "keys", "file_present"])
    return 0
