"""Benchmark of triage: ``RuleSet.evaluate`` before (reference path) and after (fast path).

Run:  .venv/bin/python bench/triage_bench.py [--quick]

1. The default pack on realistic reports (English and Spanish sentences, with
   contractions, accents, curly apostrophes and an emoji) of 150 to 38,400
   characters: µs per evaluate and ns per character, for the reference path
   (``triage_rules._matching_reference``: the original normalisation and
   every rule traced in full) and for ``RuleSet.evaluate``. Both must give
   the same decision; flat ns per character means time linear in the length.
2. Hostile rules: patterns like ``(a+)+$`` and ``(a|aa)*c`` and 200 phrases,
   on "aaaa…" texts of growing length: RE2 keeps it linear.

Timings are the best of several repeats of a batch (process CPU time), so a
busy machine disturbs them less.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from triage_rules import RuleSet, default_pack_dir, load_rules, normalize  # noqa: E402
from triage_rules import _matching_reference as reference  # noqa: E402
from triage_rules._normalize_reference import normalize as reference_normalize  # noqa: E402

# The report bench/intake_load.py sends: the "typical report" of the target.
TYPICAL = (
    "Hello, I need to tell someone. My cousin works at a restaurant near the bus station. "
    "The manager keeps her passport and says she owes him money for the trip, and the debt "
    "keeps growing. She sleeps in the back room with four other women and they are not "
    "allowed to go out alone. They work every day from 9 in the morning until midnight. "
    "She says they are paid very little or nothing. She is scared to call the police "
    "because he says they will be deported. Please help her. I can give more details."
)

SENTENCES = [
    "My cousin works at a restaurant near the bus station.",
    "The manager keeps her passport and says she owes him money for the trip.",
    "The debt keeps growing every month and she can’t pay it back.",
    "She sleeps in the back room with four other women.",
    "They aren't allowed to go out alone, the door is locked at night.",
    "They work every day from 9 in the morning until midnight.",
    "She says they are paid very little or nothing at all.",
    "She's scared to call the police because he says they will be deported.",
    "I don't know what to do, please help her 🙏",
    "He said he'd hurt her family back home if she talks to anyone.",
    "There is a girl there who looks about 15 years old.",
    "Last week the owner hit one of the women in front of everyone.",
    "We're not in danger right now but I'm worried about her.",
    "Mi prima trabaja en un restaurante cerca de la estación.",
    "El patrón le quitó el pasaporte y dice que le debe dinero por el viaje.",
    "No la dejan salir sola y trabaja más de doce horas al día.",
    "Dice que si habla con alguien van a lastimar a su familia.",
    "Por favor ayúdenla, no sé qué hacer.",
    "Hay una niña de catorce años que trabaja ahí también.",
    "No le pagan nada, solo le dan comida.",
]

LENGTHS = (150, 600, 2_400, 9_600, 38_400)


def report(length: int, seed: int = 7) -> str:
    """A realistic report of exactly ``length`` characters (sentences, then cut at a space)."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < length + 100:
        sentence = rng.choice(SENTENCES)
        parts.append(sentence)
        size += len(sentence) + 1
    text = " ".join(parts)[:length]
    return text.rsplit(" ", 1)[0].ljust(length, ".")


def best_time(function: Callable[[], object], budget: float) -> float:
    """Seconds per call: the best of 5 batches, the batch sized to about ``budget`` seconds."""
    start = time.process_time()
    function()
    once = max(time.process_time() - start, 1e-6)
    number = max(1, int(budget / once))
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(number):
            function()
        best = min(best, (time.process_time() - start) / number)
    return best


def bench_default(rules: RuleSet, budget: float) -> None:
    print("## Default pack, realistic reports (evaluate(text, lang=None, channel='web'))\n")
    print("| chars | reference µs | new µs | speed-up | reference ns/char | new ns/char | rules fired |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    texts = [("typical", TYPICAL)] + [(str(length), report(length)) for length in LENGTHS]
    for label, text in texts:
        new = rules.evaluate(text, lang=None, channel="web")
        old = reference.evaluate(rules, text, lang=None, channel="web")
        if new != old:
            raise SystemExit(f"decisions differ on the {label} text:\n{new}\n{old}")
        before = best_time(lambda t=text: reference.evaluate(rules, t, lang=None, channel="web"), budget)
        after = best_time(lambda t=text: rules.evaluate(t, lang=None, channel="web"), budget)
        name = f"{len(text)} ({label})" if label == "typical" else str(len(text))
        print(
            f"| {name} | {before * 1e6:,.1f} | {after * 1e6:,.1f} | {before / after:.1f}× "
            f"| {before * 1e9 / len(text):,.0f} | {after * 1e9 / len(text):,.0f} | {len(new.fired)} |"
        )
    print()
    print("normalize() alone:\n")
    print("| chars | reference µs | new µs | speed-up |")
    print("|---:|---:|---:|---:|")
    for label, text in texts:
        if normalize(text) != reference_normalize(text):
            raise SystemExit(f"normalize differs on the {label} text")
        before = best_time(lambda t=text: reference_normalize(t), budget)
        after = best_time(lambda t=text: normalize(t), budget)
        name = f"{len(text)} ({label})" if label == "typical" else str(len(text))
        print(f"| {name} | {before * 1e6:,.1f} | {after * 1e6:,.1f} | {before / after:.1f}× |")
    print()


HOSTILE = """\
[[rule]]
id = "redos"
patterns = ['(a+)+$', '(a|aa)*c', '(x+x+)+y', '(\\w+\\s?)*z', '(a|a?)+b']
score = 1
[rule.examples]
match = ["aaaa", "aac", "xxxy", "abc z", "aab"]

[[rule]]
id = "many.phrases"
phrases = [{phrases}]
unless = ["a", "aa"]
score = 1
[rule.examples]
match = ["a40 b"]
"""


def bench_hostile(budget: float, sizes: tuple[int, ...]) -> None:
    phrases = ", ".join(f'"{"a" * (index % 40 + 1)}{index} b"' for index in range(1, 201))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hostile.toml"
        path.write_text(textwrap.dedent(HOSTILE).replace("{phrases}", phrases), encoding="utf-8")
        rules = load_rules([path])
    print("## Hostile rules: (a+)+$, (a|aa)*c, (x+x+)+y, (\\w+\\s?)*z, (a|a?)+b and 200 phrases\n")
    print("| text | chars | new µs | new ns/char | fired |")
    print("|---|---:|---:|---:|---|")
    for size in sizes:
        texts = (("a…a", "a" * size), ("a…ab", "a" * (size - 1) + "b"), ("a a … a", "a " * (size // 2)))
        for name, text in texts:
            decision = rules.evaluate(text)
            if size <= sizes[1] and decision != reference.evaluate(rules, text):
                raise SystemExit(f"decisions differ on hostile text {name} of {size}")
            after = best_time(lambda t=text: rules.evaluate(t), budget)
            print(
                f"| {name} | {len(text):,} | {after * 1e6:,.1f} | {after * 1e9 / len(text):,.1f} "
                f"| {', '.join(decision.rule_ids) or '-'} |"
            )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="shorter batches")
    args = parser.parse_args()
    budget = 0.05 if args.quick else 0.25
    rules = load_rules([default_pack_dir()])
    print(f"Python {sys.version.split()[0]}, rule set {rules.version}, {len(rules.rules)} rules\n")
    bench_default(rules, budget)
    bench_hostile(budget, (1_000, 4_000, 16_000, 64_000, 256_000))


if __name__ == "__main__":
    main()
