"""The console's JavaScript crypto against crypto/vectors/, run by node from pytest.

So the README's single test command also proves that the browser opens exactly
what the Python package writes (and vice versa).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_js_crypto_matches_every_vector() -> None:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "libsodium-wrappers-sumo").is_dir():
        pytest.fail("node and 'npm ci' are needed for the console tests (see README set-up)")
    proc = subprocess.run([node, "--test", "tests/console/"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout
