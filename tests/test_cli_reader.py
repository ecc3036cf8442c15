"""`hotline rules explain` shows the second reader's contribution on its own line, with its
version and probabilities; `hotline rules diff` reports every set with and without it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.process import run_cli
from triage_rules import default_pack_dir
from triage_rules.reader import load_reader

DEV = Path(__file__).parent / "data" / "triage_dev.jsonl"
MISSED = "he said hes gonna find me tonight n finish what he started. hes been driving past"


def test_explain_shows_the_readers_line_and_version() -> None:
    version = load_reader().version
    shown = run_cli("rules", "explain", MISSED).stdout
    first, *lines = shown.splitlines()
    assert first.startswith("urgency: critical (") and first.endswith(f", reader {version}")
    line = next(x for x in lines if x.strip().startswith("reader "))
    assert f"reader {version}: P(critical) " in line and "raised normal to critical" in line
    assert "rules gave normal" in shown
    out = json.loads(run_cli("rules", "explain", MISSED, "--json").stdout)
    assert out["urgency"] == "critical" and out["rules_urgency"] == "normal"
    assert out["reader_version"] == version and out["reader"]["raised"] is True
    assert out["ruleset_version"].startswith("rs-")
    off = json.loads(run_cli("rules", "explain", MISSED, "--json", "--no-reader").stdout)
    assert off["urgency"] == "normal" and off["reader"] is None and off["reader_version"] is None
    assert "  reader off" in run_cli("rules", "explain", MISSED, "--no-reader").stdout


def test_a_broken_weights_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "weights.json"
    bad.write_text("{}", encoding="utf-8")
    proc = run_cli("rules", "explain", "hello", "--reader", str(bad), check=False)
    assert proc.returncode != 0 and "weights.json" in proc.stderr and "Traceback" not in proc.stderr


def test_diff_reports_with_and_without_the_reader() -> None:
    pack = str(default_pack_dir())
    out = json.loads(run_cli("rules", "diff", pack, pack, "--corpus", str(DEV), "--json").stdout)
    assert out["reader"]["version"] == load_reader().version
    assert {"lang:en", "lang:es", "class:self-harm"} <= set(out["reader"]["new_groups"])
    assert "lang:es" in out["new_groups"]  # the rules alone, as before
    shown = run_cli("rules", "diff", pack, pack, "--corpus", str(DEV)).stdout
    assert "with the reader rd-" in shown and "by language and class, new + reader" in shown
    off = json.loads(run_cli("rules", "diff", pack, pack, "--corpus", str(DEV), "--json",
                             "--no-reader").stdout)
    assert off["reader"] is None
