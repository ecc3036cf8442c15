"""What the second reader costs per message: today's ``Reader.read`` beside the original.

Run:  .venv/bin/python bench/reader_bench.py [--budget SECONDS]

Times (median CPU µs of single calls, least disturbed of five rounds, as
``triage_scale.py`` does but in CPU time: the machine is shared), the original reader (``_reader_reference``, what
``Reader.read`` was before it was rewritten) and ``Reader.read`` measured in
alternation on the same texts, at 200, 1,500 and 2,000 characters:

* ``sparse``: ``triage_scale.py``'s typical texts (95% general words);
* ``dense``: ``triage_scale.py``'s dense texts (every word from the rules' vocabulary);
* ``corpus``: labelled messages of both languages joined up to the length.

Then the default packs' ``evaluate`` and ``triage`` (packs + reader, what intake
calls) on the 2,000-character corpus texts, and the start-up: loading and
checking the weights (first time in the process, and again: the per-process
cache).
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from triage_scale import SEED, VOCABULARY, text_of, vocabulary  # noqa: E402

from triage_rules import default_pack_dir, load_rules  # noqa: E402
from triage_rules._reader_reference import ReferenceReader  # noqa: E402
from triage_rules.compare import load_corpus  # noqa: E402
from triage_rules.reader import default_reader_path, load_reader, reader_from_json, reader_version  # noqa: E402
from triage_rules.triage import triage  # noqa: E402

LENGTHS = (200, 1_500, 2_000)
TEXTS = 5


def corpus_texts(length: int, count: int) -> list[str]:
    items = load_corpus(ROOT / "tests" / "data" / "triage_dev.jsonl")
    rng = random.Random(SEED)
    texts = []
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < length:
            parts.append(rng.choice(items).text)
        texts.append(" ".join(parts)[:length])
    return texts


def median_us(function: Callable[[], object], budget: float, rounds: int = 5) -> float:
    """Median CPU µs (this thread's CPU time, ``time.thread_time_ns``) of single calls, in the
    least disturbed of ``rounds`` rounds: on a machine shared by many processes, wall time
    also counts the time the process waits for a core; CPU time is what a call costs."""
    for _ in range(3):
        function()
    medians: list[float] = []
    for _ in range(rounds):
        samples: list[int] = []
        deadline = time.perf_counter() + budget / rounds
        while len(samples) < 15 or time.perf_counter() < deadline:
            start = time.thread_time_ns()
            function()
            samples.append(time.thread_time_ns() - start)
        medians.append(statistics.median(samples) / 1_000)
    return min(medians)


def timed_ms(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per measurement")
    args = parser.parse_args()
    first_load = timed_ms(load_reader)
    again_load = timed_ms(load_reader)
    document = default_reader_path().read_text(encoding="utf-8")
    loads_now, loads_original = [], []
    for _ in range(3):  # parse, check the version, build the tables: now and as originally
        loads_now.append(timed_ms(lambda: reader_from_json(json.loads(document))))
        loads_original.append(timed_ms(lambda: (
            reader_version(payload := json.loads(document)), ReferenceReader.from_json(payload))))
    reader = load_reader()
    reference = ReferenceReader.load()
    rng = random.Random(SEED)
    words = vocabulary(VOCABULARY, rng)
    general = [word + "x" for word in vocabulary(VOCABULARY, random.Random(SEED + 1))]  # as triage_scale.py
    kinds = {
        "sparse": lambda length: [text_of(length, words, seed, general) for seed in range(TEXTS)],
        "dense": lambda length: [text_of(length, words, seed) for seed in range(TEXTS)],
        "corpus": lambda length: corpus_texts(length, TEXTS),
    }

    def med(function: Callable[[str], object], texts: list[str]) -> float:
        return statistics.median(median_us(functools.partial(function, t), args.budget / TEXTS)
                                 for t in texts)

    print(f"reader {reader.version} ({reader.size:,} features); median CPU µs of one call\n")
    print("| text | chars | original `read` µs | `Reader.read` µs | original / now |")
    print("|---|---:|---:|---:|---:|")
    for kind, make in kinds.items():
        for length in LENGTHS:
            texts = make(length)
            assert all(reader.read(t) == reference.read(t) for t in texts)
            before, after = [], []
            for _ in range(2):  # alternate, so a drift of the machine hits both
                before.append(med(reference.read, texts))
                after.append(med(reader.read, texts))
            b, a = min(before), min(after)
            print(f"| {kind} | {length:,} | {b:,.0f} | {a:,.0f} | {b / a:.1f}× |")
    default = load_rules([default_pack_dir()])
    plain = corpus_texts(2_000, TEXTS)
    print("\n| what (corpus texts, 2,000 characters) | µs per message |")
    print("|---|---:|")
    print(f"| default packs, `evaluate(spans=False)` | {med(functools.partial(default.evaluate, spans=False), plain):,.0f} |")
    print(f"| default packs + original reader | {med(lambda t: (default.evaluate(t, spans=False), reference.read(t)), plain):,.0f} |")
    print(f"| default packs + reader, `triage` (what intake calls) | {med(functools.partial(triage, default, reader), plain):,.0f} |")
    print(f"\nstart-up (wall ms): `load_reader` {first_load:,.0f} ms the first time in the process, "
          f"{again_load:,.1f} ms again (cached); parse + version check + tables, best of 3: "
          f"now {min(loads_now):,.0f} ms, original {min(loads_original):,.0f} ms (on every load)")


if __name__ == "__main__":
    main()
