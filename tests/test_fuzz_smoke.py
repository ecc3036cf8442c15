"""A short run of every fuzz target through ``fuzz/run``, as CI's smoke of the campaigns.

Each target first replays its committed seed corpus, then mutates for a
couple of seconds (the long campaigns and their figures are in
``bench/RESULTS.md``). The test fails when the runner reports a crash: an
input that made a parser raise anything but its documented error, or broke a
property the target asserts. Scratch corpus and crash folders are the test's
own temporary directory, so a run leaves nothing in the checkout.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fuzz.runner import TARGETS

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 2


def test_every_target_has_a_seed_corpus_and_the_runner_is_executable() -> None:
    runner = ROOT / "fuzz" / "run"
    assert runner.stat().st_mode & 0o111
    for name in TARGETS:
        seeds = list((ROOT / "fuzz" / "corpus" / name).iterdir())
        assert seeds, name


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_smoke(target: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fuzz.runner", target, "--seconds", str(SECONDS),
         "--crashes", str(tmp_path / "crashes"), "--work", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    assert done.stdout.startswith(f"{target}: ok"), done.stdout
    assert not any((tmp_path / "crashes" / target).iterdir())
