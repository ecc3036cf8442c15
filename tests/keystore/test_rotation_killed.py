"""A rotation killed between re-wrap batches loses no live key, and the next one finishes it.

The rotation runs as the real CLI in its own process, one key per batch; the
test watches the key store from another connection, freezes the process
(SIGSTOP) once some keys are under the new epoch and some under the old, and
kills it (SIGKILL): no clean-up code runs, the lock dies with the process.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from crypto import new_storage_key
from hotline.keystore.offline import offline_keys
from tests.helpers.instance import make_instance
from tests.helpers.process import HOTLINE, cli_env, cli_json
from tests.keystore.test_epoch_rotation import front_end

KEYS = 400


def _by_epoch(keystore: Path) -> dict[str, tuple[str, int]]:
    conn = sqlite3.connect(f"file:{keystore}?mode=ro", uri=True)
    try:
        return {str(e): (str(s), int(n)) for e, s, n in conn.execute(
            "SELECT e.id, e.state, (SELECT COUNT(*) FROM tip_keys k WHERE k.epoch_id = e.id)"
            " FROM epochs e")}
    finally:
        conn.close()


def _kill_mid_rotation(root: Path, keystore: Path) -> bool:
    """Start a rotation, kill -9 it between batches; False if it finished first."""
    proc = subprocess.Popen([*HOTLINE, "keystore", "rotate", str(root), "--batch", "1"],
                            env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120  # a bound on a hung process, not a timing assertion
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                states = _by_epoch(keystore)
            except sqlite3.OperationalError:
                continue  # the writer held the file for a moment
            moving = [n for s, n in states.values() if s in ("current", "retiring")]
            if len(moving) == 2 and all(moving):
                os.kill(proc.pid, signal.SIGSTOP)
                states = _by_epoch(keystore)  # what is on disk, now frozen
                interrupted = sorted(s for s, n in states.values() if n) == ["current",
                                                                            "retiring"]
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return interrupted
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


async def test_a_rotation_killed_between_batches_loses_no_key(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    keystore = inst.root / "secrets" / "keystore.db"
    keys = {f"tip-{i:03}": new_storage_key() for i in range(KEYS)}
    async with front_end(keystore) as ks:
        for tip_id, key in keys.items():
            await ks.create(tip_id, key)

    interrupted = False
    for _ in range(5):  # almost always the first: 400 single-key commits take a while
        if _kill_mid_rotation(inst.root, keystore):
            interrupted = True
            break
    assert interrupted, "the rotation always finished before it could be stopped"

    states = _by_epoch(keystore)
    (old,) = [e for e, (s, _) in states.items() if s == "retiring"]
    (new,) = [e for e, (s, _) in states.items() if s == "current"]
    assert states[old][1] + states[new][1] == KEYS
    epochs_dir = keystore.parent / "epochs"
    assert (epochs_dir / f"{old}.key").exists() and (epochs_dir / f"{new}.key").exists()
    with offline_keys(keystore) as stored:  # every key opens, whichever epoch it is under
        assert {t: stored.get(t) for t in keys} == keys
    async with front_end(keystore) as ks:  # and through a front end, which can still write
        for tip_id in ("tip-000", "tip-399"):
            assert await ks.get(tip_id) == keys[tip_id]
        keys["late"] = await ks.create("late")

    report = cli_json("keystore", "rotate", str(inst.root))  # finishes it; makes no new epoch
    assert report == {"created": None, "retired": [old], "rewrapped": states[old][1],
                      "swept": 0}
    assert {e: s for e, (s, _) in _by_epoch(keystore).items()} == {old: "destroyed",
                                                                   new: "current"}
    assert not (epochs_dir / f"{old}.key").exists()
    with offline_keys(keystore) as stored:
        assert {t: stored.get(t) for t in keys} == keys
