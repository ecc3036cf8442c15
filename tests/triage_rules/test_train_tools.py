"""The trainer's tools: batch import, leave-one-source-out, and the one-shot measure command.

Leave-one-source-out is the generalisation proxy every reader choice is made on; if a
held-out source leaked into its own training, every figure it reports would flatter.
The test builds two sources whose labels are opposite and whose words never meet: a
message can only be read right by a model that saw its own source.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from triage_rules.compare import load_corpus, parse_corpus
from triage_rules.reader_features import features
from triage_rules.train import import_batches
from triage_rules.train.crossval import leave_one_source_out
from triage_rules.train.logistic import Settings
from triage_rules.train.sources import Data

ROOT = Path(__file__).resolve().parent.parent.parent


def _row(i: int, urgency: str, text: str) -> dict[str, object]:
    return {"id": f"t-{i:03d}", "lang": "en", "channel": "sms", "urgency": urgency,
            "class": "violence-now" if urgency == "critical" else "question-info",
            "hard_negative": False, "text": text}


def test_batches_become_one_corpus_file_with_class_and_id_in_the_note(tmp_path: Path) -> None:
    batches = tmp_path / "batches"
    batches.mkdir()
    (batches / "batch02.jsonl").write_text(json.dumps(_row(2, "low", "how do i donate")) + "\n")
    (batches / "batch01.jsonl").write_text(
        json.dumps(_row(1, "critical", "he is hitting her right now")) + "\n"
        + json.dumps(_row(3, "low", "how do i donate")) + "\n")  # the same text twice: kept once
    out = tmp_path / "triage_trainXX.jsonl"
    import_batches.main([str(batches), str(out)])
    items = load_corpus(out)
    assert [(i.urgency.value, i.note) for i in items] == [
        ("critical", "class:violence-now t-001"), ("low", "class:question-info t-003")]


def test_a_held_out_source_is_never_read_by_its_own_model() -> None:
    alpha = [f"alpha{i} bravo{i} charlie delta echo" for i in range(12)]
    kilo = [f"kilo{i} lima{i} mike november oscar" for i in range(12)]
    lines = ([json.dumps({"text": t, "urgency": "critical", "lang": "en"}) for t in alpha]
             + [json.dumps({"text": t, "urgency": "low", "lang": "en"}) for t in kilo])
    items = parse_corpus(lines)
    data = Data(items, [features(i.text) for i in items], [1.0] * len(items),
                ["a.jsonl"] * 12 + ["k.jsonl"] * 12, ("a.jsonl", "k.jsonl"), "0")
    held = leave_one_source_out(data, Settings(epochs=5))
    # held out, each source is read by a model that only saw the other label: it reads it
    # wrong (with leakage, alpha's criticals would score high)
    assert max(held.p_critical[:12]) < 0.5
    assert min(held.p_critical[12:]) > 0.5


def test_the_measure_command_prints_the_bar_per_language_with_and_without_the_reader() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "triage_measure.py"),
         str(ROOT / "tests" / "data" / "triage_dev.jsonl")],
        capture_output=True, text=True, check=True, cwd=ROOT)
    out = done.stdout
    for who in ("rules alone", "rules + reader"):
        for lang in ("en", "es", "all"):
            assert f"| {who} | {lang} | " in out
    assert "low/normal→critical" in out and "bar met" in out
    assert out.count("| label \\ decided |") == 2  # both confusion matrices
    assert "reader rd-" in out and "Rule set rs-" in out
