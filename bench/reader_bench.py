"""What the second reader costs per message: the original, the pure-Python reader, the arrays.

Run:  .venv/bin/python bench/reader_bench.py [--budget SECONDS]

Times (median CPU µs of single calls, least disturbed of five rounds, as
``triage_scale.py`` does but in CPU time: the machine is shared), measured in
alternation on the same texts, at 200, 1,500 and 2,000 characters:

* the original reader (``_reader_reference``, what ``Reader.read`` was first);
* the pure-Python reader (``Reader._read_python`` after normalising: what
  ``Reader.read`` was before the arrays, and still is for short texts, cues and
  weights the arrays cannot hold);
* ``Reader.read`` now (normalises, then reads over arrays from ``ARRAYS_FROM``
  characters on);
* ``Reader.read_normalized`` on the text the rules normalised already: what
  ``triage`` (intake) pays for the reader now.

Texts:

* ``sparse``: ``triage_scale.py``'s typical texts (95% general words);
* ``dense``: ``triage_scale.py``'s dense texts (every word from the rules' vocabulary);
* ``corpus``: labelled messages of both languages joined up to the length;
* ``intake paging``: the report ``intake_load.py`` posts that pages (1,491 characters).

Then the default packs' ``evaluate`` and ``triage`` (packs + reader, what intake
calls) on the 1,500- and 2,000-character corpus texts, before (rules, then the
pure-Python reader normalising again) and now, and the start-up: loading and
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

from intake_load import PAGING_TEXT  # noqa: E402
from triage_scale import SEED, VOCABULARY, text_of, vocabulary  # noqa: E402

from triage_rules import default_pack_dir, load_rules  # noqa: E402
from triage_rules._reader_reference import ReferenceReader  # noqa: E402
from triage_rules.compare import load_corpus  # noqa: E402
from triage_rules.normalize import prepare_for_matching  # noqa: E402
from triage_rules.reader import (  # noqa: E402
    Reading,
    default_reader_path,
    load_reader,
    reader_from_json,
    reader_version,
)
from triage_rules.reader_features import normalized_text  # noqa: E402
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
        # the 1,491-character report intake_load.py posts that pages (the rules say high,
        # so intake consults the reader), cut to the length
        "intake paging": lambda length: [PAGING_TEXT[:length]],
    }

    def med(function: Callable[[str], object], texts: list[str]) -> float:
        return statistics.median(median_us(functools.partial(function, t), args.budget / TEXTS)
                                 for t in texts)

    print(f"reader {reader.version} ({reader.size:,} features; arrays: "
          f"{'yes' if reader.arrays is not None else 'no'}); median CPU µs of one call\n")
    print("| text | chars | original µs | pure Python (before) µs | `read` now µs "
          "| `read_normalized` (in `triage`) µs | before / in `triage` |")
    print("|---|---:|---:|---:|---:|---:|---:|")

    def before_read(text: str) -> Reading:
        return reader._read_python(normalized_text(text), 0)

    for kind, make in kinds.items():
        for length in LENGTHS if kind != "intake paging" else (200, len(PAGING_TEXT)):
            texts = make(length)
            flats = [prepare_for_matching(t).text for t in texts]
            assert all(reader.read(t) == reference.read(t) == before_read(t) == reader.read_normalized(f)
                       for t, f in zip(texts, flats, strict=True))
            rounds: dict[str, list[float]] = {"original": [], "before": [], "now": [], "shared": []}
            for _ in range(2):  # alternate, so a drift of the machine hits all
                rounds["original"].append(med(reference.read, texts))
                rounds["before"].append(med(before_read, texts))
                rounds["now"].append(med(reader.read, texts))
                rounds["shared"].append(med(reader.read_normalized, flats))
            o, b, n, f = (min(rounds[k]) for k in ("original", "before", "now", "shared"))
            print(f"| {kind} | {length:,} | {o:,.0f} | {b:,.0f} | {n:,.0f} | {f:,.0f} | {b / f:.1f}× |")
    default = load_rules([default_pack_dir()])

    def triage_before(text: str) -> object:
        decision = default.evaluate(text, spans=False)
        return decision, before_read(text)

    print("\n| what (corpus texts) | chars | µs per message |")
    print("|---|---:|---:|")
    for length in (1_500, 2_000):
        plain = corpus_texts(length, TEXTS)
        rows: dict[str, list[float]] = {}
        for _ in range(2):
            for label, function in (
                ("default packs, `evaluate(spans=False)`", functools.partial(default.evaluate, spans=False)),
                ("packs + pure-Python reader normalising again (before)", triage_before),
                ("packs + reader, `triage` now (what intake calls)", functools.partial(triage, default, reader)),
            ):
                rows.setdefault(label, []).append(med(function, plain))
        for label, values in rows.items():
            print(f"| {label} | {length:,} | {min(values):,.0f} |")
    print(f"\nstart-up (wall ms): `load_reader` {first_load:,.0f} ms the first time in the process, "
          f"{again_load:,.1f} ms again (cached); parse + version check + tables, best of 3: "
          f"now {min(loads_now):,.0f} ms, original {min(loads_original):,.0f} ms (on every load)")


if __name__ == "__main__":
    main()
