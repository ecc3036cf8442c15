"""What a seized disk gives an attacker: every wrapped tip key and every epoch key on it.

The attacker's procedure, as the tests run it: collect every byte string that
looks like a wrapped tip key (raw, as in database pages and WAL, or hex, as in
a plain pg_dump), every epoch key file still on disk, and every tip id and
epoch id they could learn (from the old database backups and the key store's
rows); try each wrapped key under each epoch key with each pair of ids; then
try each key that opens against the envelope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from crypto import CryptoError, unwrap
from crypto.epoch import (
    EPOCH_ID,
    MAGIC,
    WRAPPED_BYTES,
    EpochFileError,
    decode_epoch_file,
    unwrap_tip_key,
)

_HEX_MAGIC = re.compile(re.escape(MAGIC.hex().encode()), re.IGNORECASE)


def files_under(*roots: Path) -> dict[str, bytes]:
    """Every readable file below the roots (instance folder, cluster data folder, dumps)."""
    out = {}
    for root in roots:
        paths = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for p in paths:
            try:
                out[str(p)] = p.read_bytes()
            except OSError:
                continue  # sockets, files vanishing under a running server
    return out


def wrapped_candidates(files: dict[str, bytes]) -> set[bytes]:
    """Every 78-byte string starting with the wrapped-key magic, raw or hex-encoded."""
    found = set()
    for data in files.values():
        start = data.find(MAGIC)
        while start != -1:
            found.add(data[start:start + WRAPPED_BYTES])
            start = data.find(MAGIC, start + 1)
        for m in _HEX_MAGIC.finditer(data):
            text = data[m.start():m.start() + 2 * WRAPPED_BYTES]
            try:
                found.add(bytes.fromhex(text.decode("ascii")))
            except (UnicodeDecodeError, ValueError):
                continue
    return {c for c in found if len(c) == WRAPPED_BYTES}


def epoch_keys_on_disk(files: dict[str, bytes]) -> dict[str, bytes]:
    """Every file that decodes as an epoch key file, whatever folder it sits in."""
    out = {}
    for name, data in files.items():
        stem = Path(name).name.removesuffix(".key")
        if EPOCH_ID.match(stem):
            try:
                out[stem] = decode_epoch_file(data, stem)
            except EpochFileError:
                continue
    return out


def opened_tip_keys(candidates: Iterable[bytes], epoch_keys: dict[str, bytes],
                    epoch_ids: Iterable[str], tip_ids: Iterable[str]) -> dict[str, set[bytes]]:
    """Tip id -> every tip key some candidate gives up under some epoch key on disk."""
    tips, ids = list(tip_ids), set(epoch_ids) | set(epoch_keys)
    out: dict[str, set[bytes]] = {}
    for wrapped in candidates:
        for key in epoch_keys.values():
            for epoch_id in ids:
                for tip_id in tips:
                    try:
                        tip_key = unwrap_tip_key(key, wrapped, epoch_id=epoch_id, tip_id=tip_id)
                    except CryptoError:
                        continue
                    out.setdefault(tip_id, set()).add(tip_key)
    return out


def envelope_opens(tip_keys: Iterable[bytes], wrapped_envelope: bytes, tip_id: str) -> bool:
    """Does any of these keys take the at-rest layer off this stored envelope?"""
    for key in tip_keys:
        try:
            unwrap(key, wrapped_envelope, label=tip_id)
            return True
        except CryptoError:
            continue
    return False
