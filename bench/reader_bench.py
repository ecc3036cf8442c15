"""What the second reader costs per message, beside the rules it sits on.

Run:  .venv/bin/python bench/reader_bench.py [--budget SECONDS]

Times (median µs of single calls, least disturbed of five rounds, as
``triage_scale.py`` does), on texts of 2,000 characters:

* the 1,000-rule generated pack of ``triage_scale.py``, ``evaluate(spans=False)`` on
  its dense texts: the 250 µs budget the rules must hold (the reader does not
  touch it: it runs after the rules, on its own);
* ``Reader.read`` alone on the same dense texts, and on corpus-like texts
  (labelled messages of both languages, joined up to 2,000 characters);
* the default packs alone, and ``triage`` (default packs + reader): what intake
  calls per message.
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from triage_scale import SEED, VOCABULARY, generate_pack, median_us, text_of, vocabulary  # noqa: E402

from triage_rules import default_pack_dir, load_rules  # noqa: E402
from triage_rules.compare import load_corpus  # noqa: E402
from triage_rules.reader import load_reader  # noqa: E402
from triage_rules.reader_features import features  # noqa: E402
from triage_rules.triage import triage  # noqa: E402

LENGTH = 2_000


def corpus_texts(count: int) -> list[str]:
    items = load_corpus(ROOT / "tests" / "data" / "triage_dev.jsonl")
    rng = random.Random(SEED)
    texts = []
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < LENGTH:
            parts.append(rng.choice(items).text)
        texts.append(" ".join(parts)[:LENGTH])
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per measurement")
    args = parser.parse_args()
    rng = random.Random(SEED)
    words = vocabulary(VOCABULARY, rng)
    dense = [text_of(LENGTH, words, seed) for seed in range(5)]
    plain = corpus_texts(5)
    reader = load_reader()
    default = load_rules([default_pack_dir()])
    with tempfile.TemporaryDirectory() as folder:
        generate_pack(1_000, words, Path(folder))
        generated = load_rules([Path(folder)])

    def med(function: functools.partial[object], texts: list[str]) -> float:
        return statistics.median(median_us(functools.partial(function, t), args.budget / 5) for t in texts)

    rows = [
        ("1,000 generated rules, `evaluate(spans=False)`", "dense", med(
            functools.partial(generated.evaluate, lang="en", spans=False), dense)),
        ("reader alone, `Reader.read`", "dense", med(functools.partial(reader.read), dense)),
        ("reader alone, `Reader.read`", "corpus-like", med(functools.partial(reader.read), plain)),
        ("  of which features (normalise + n-grams)", "corpus-like", med(functools.partial(features), plain)),
        ("default packs, `evaluate(spans=False)`", "corpus-like", med(
            functools.partial(default.evaluate, spans=False), plain)),
        ("default packs + reader, `triage`", "corpus-like", med(
            functools.partial(triage, default, reader), plain)),
    ]
    print(f"reader {reader.version} ({len(reader.vocabulary):,} features), texts of {LENGTH:,} characters\n")
    print("| what | text | µs per message |")
    print("|---|---|---:|")
    for what, kind, us in rows:
        print(f"| {what} | {kind} | {us:,.0f} |")


if __name__ == "__main__":
    main()
