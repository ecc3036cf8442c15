"""What epoch keys cost: a rotation's re-wrap rate, and ``KeyStore.get`` per call.

``get`` now asks the key store on every call (a shred on another front end
must be seen at once) and caches only the unwrap; before, a cache hit never
left the process. ``--baseline REV`` runs the same ``get`` loop against the
key store module of git revision REV (the pre-epoch one: ``9aed3d0``), loaded
from ``git show`` into a temporary module, on the same machine right after.

    .venv/bin/python bench/keystore_epochs.py --keys 20000 --gets 5000 --baseline 9aed3d0
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline.keystore import open_sqlite_keystore  # noqa: E402


async def _gets(ks: Any, tip_ids: list[str], n: int) -> list[float]:
    for t in tip_ids[:n]:  # warm: every key unwrapped (and cached) once
        await ks.get(t)
    times = []
    for i in range(n):
        started = time.perf_counter()
        await ks.get(tip_ids[i % len(tip_ids)])
        times.append(time.perf_counter() - started)
    return times


def _summary(times: list[float]) -> str:
    times = sorted(times)
    return (f"median {statistics.median(times) * 1e6:.0f} µs, "
            f"p99 {times[int(len(times) * 0.99)] * 1e6:.0f} µs")


async def current(folder: Path, keys: int, gets: int, batch: int) -> None:
    ks = open_sqlite_keystore(folder / "secrets" / "keystore.db", rotation_batch=batch)
    await ks.open()
    try:
        tip_ids = [f"tip-{i:06}" for i in range(keys)]
        for start in range(0, keys, 1000):
            await asyncio.gather(*(ks.create(t) for t in tip_ids[start:start + 1000]))
        started = time.perf_counter()
        report = await ks.rotate()
        took = time.perf_counter() - started
        print(f"rotation: {report.rewrapped} keys re-wrapped in {took:.2f} s "
              f"({report.rewrapped / took:.0f} keys/s, batch {batch}, one fsync per batch)")
        print(f"get (epoch keys, row read every call): {_summary(await _gets(ks, tip_ids, gets))}")
    finally:
        await ks.close()


def _source(rev: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:hotline/keystore.py"],
                          check=True, capture_output=True, text=True).stdout


async def baseline(rev: str, folder: Path, gets: int) -> None:
    source = _source(rev)
    module = ROOT / "hotline" / "_bench_keystore_baseline.py"
    module.write_text(source, encoding="utf-8")
    try:
        old = importlib.import_module("hotline._bench_keystore_baseline")
        ks = old.KeyStore(folder / "secrets" / "keystore.db")
        await ks.open()
        try:
            tip_ids = [f"tip-{i:06}" for i in range(gets)]
            for t in tip_ids:
                await ks.create(t)
            print(f"get ({rev}, in-memory cache hit): {_summary(await _gets(ks, tip_ids, gets))}")
        finally:
            await ks.close()
    finally:
        module.unlink()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=20000)
    parser.add_argument("--gets", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--baseline", help="git revision of the pre-epoch key store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(current(Path(tmp) / "new", args.keys, args.gets, args.batch))
        if args.baseline:
            asyncio.run(baseline(args.baseline, Path(tmp) / "old", args.gets))


if __name__ == "__main__":
    main()
