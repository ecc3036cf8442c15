"""``hotline keystore rotate|status`` as an operator runs them, and the settings' limits."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from hotline.config import load_config
from hotline.errors import ConfigError
from tests.helpers.instance import make_instance
from tests.helpers.process import cli_json, run_cli


def test_rotate_then_status_and_clear_errors(tmp_path: Path) -> None:
    inst = make_instance(tmp_path)
    before = cli_json("keystore", "status", str(inst.root))
    assert [(e["state"], e["file_present"]) for e in before] == [("current", True)]
    first = before[0]["id"]
    out = run_cli("keystore", "rotate", str(inst.root)).stdout
    assert f"destroyed epoch key(s) {first}" in out
    after = {e["id"]: (e["state"], e["file_present"])
             for e in cli_json("keystore", "status", str(inst.root))}
    assert after.pop(first) == ("destroyed", False)
    assert list(after.values()) == [("current", True)]

    for args, says in ((("keystore", "rotate", str(tmp_path / "nowhere")), "not found"),
                       (("keystore", "rotate", str(inst.root), "--batch", "0"), "--batch")):
        proc = run_cli(*args, check=False)
        assert proc.returncode != 0 and says in proc.stderr
        assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.parametrize(("key", "value", "says"), [
    ("epoch_rotation", "10m", "between 1h and 90d"),
    ("epoch_rotation", "365d", "between 1h and 90d"),
    ("rotation_batch", "0", "between 1 and 100000"),
])
def test_settings_out_of_range_are_refused(tmp_path: Path, key: str, value: str,
                                           says: str) -> None:
    inst = make_instance(tmp_path)
    env = {f"HOTLINE_KEYSTORE_{key.upper()}": value}
    with pytest.raises(ConfigError, match=f"keystore.{key}: must be {says}"):
        load_config(inst.root, env)


async def test_doctor_and_readyz_name_a_missing_epoch_key_and_a_failed_rotation(
        tmp_path: Path) -> None:
    from hotline.ops.doctor import diagnose
    from hotline.ops.routes import readiness_problems
    from tests.ops.helpers import opened, web_tip

    inst = make_instance(tmp_path)
    assert [p for p in diagnose(inst.root) if "epoch" in p] == []
    async with opened(inst.root) as s:
        await web_tip(s, "a report whose key is wrapped under the current epoch")
        (epoch,) = s.keystore.epochs.on_disk()
    (inst.root / "secrets" / "epochs" / f"{epoch}.key").unlink()  # a careless restore
    assert any(f"epoch key {epoch} is missing" in p for p in diagnose(inst.root))
    # The service's own rotation cannot re-wrap keys it cannot open: it keeps them, and says so.
    conn = sqlite3.connect(inst.root / "secrets" / "keystore.db")
    conn.execute("UPDATE epochs SET created_at = '2020-01-01T00:00:00Z'")  # long due
    conn.commit()
    conn.close()
    async with opened(inst.root) as s:
        for _ in range(1200):  # the first background pass runs at start (a bound, not a timing)
            if s.keystore.last_rotation_error is not None:
                break
            await asyncio.sleep(0.05)
        problems = await readiness_problems(s, None)
    assert "key store: the last epoch rotation failed (EpochKeyMissing)" in problems
