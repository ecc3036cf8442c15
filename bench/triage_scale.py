"""Scale benchmark of triage: generated packs of 100, 1,000 and 10,000 rules.

Run:  .venv/bin/python bench/triage_scale.py [--quick] [--sizes 100,1000,10000] [--no-naive]

For each pack size it writes a generated rule file (phrases, RE2 patterns,
``near``, ``all`` / ``any`` groups, negation cues, language conditions, tags
and raise / lower modifiers acting on them (one rule in 40, since issue 15), one
rule with the pathological patterns ``(a+)+$``, ``(a|aa)*c`` and
``(x+x+)+y``; every rule with its examples, so ``load_rules`` runs them all)
and times, on texts of 200, 2,000 and 5,000 characters:

* ``RuleSet.evaluate(text, spans=False)`` — the whole call a triage decision
  makes: normalisation, the RE2 set prefilter, the per-rule searches,
  proximity, groups and negation, and the decision (urgency, score, rule ids);
* ``RuleSet.evaluate(text)`` — the same with every fired rule's spans mapped
  back to the original text (what ``explain`` shows);
* a naive per-rule loop in Python's ``re`` (this script only: the package
  never imports ``re``): the same normalised text, then every rule's compiled
  ``re`` expressions searched one after the other, with the same proximity,
  group and negation checks written the obvious way.

Two kinds of text, both with punctuation, capitals, contractions, an emoji
and an accented word:

* ``typical``: 95% of the words from a general vocabulary no rule uses, 5%
  from the rules' vocabulary (a message that mentions a few indicators);
* ``dense``: every word from the rules' own vocabulary, Zipf-distributed
  (a worst case: 2-3% of a 1,000-rule pack fires on 2,000 characters).

Timings are medians of single calls (``time.perf_counter_ns``), in the least
disturbed of five rounds (the machine is shared), over five texts of each
kind, after a warm-up; ns per character shows how time grows with the
length.

Finally the pathological patterns on "aaaa…a!" texts: in the rule set (RE2)
the time stays linear; in Python's ``re`` it grows exponentially (only short
texts are tried there, with a time cap).
"""

from __future__ import annotations

import argparse
import datetime
import functools
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from triage_rules import load_rules, normalize  # noqa: E402

SIZES = (100, 1_000, 10_000)
LENGTHS = (200, 2_000, 5_000)
VOCABULARY = 6_000
SEED = 2024

_CONSONANTS = "bcdfghjklmnprstvz"
_VOWELS = "aeiou"


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """``size`` distinct pseudo-words of 2 to 4 consonant-vowel syllables."""
    words: set[str] = set()
    ordered: list[str] = []
    while len(ordered) < size:
        word = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 4)))
        if word not in words:
            words.add(word)
            ordered.append(word)
    return ordered


@dataclass
class GeneratedRule:
    """One generated rule, as TOML and as what the naive loop needs."""

    toml: str
    phrases: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    near: tuple[list[str], list[str], int] | None = None
    groups: list[list[str]] = field(default_factory=list)
    at_least: int = 0
    unless: list[str] = field(default_factory=list)
    window: int = 3
    lang: str | None = None


def _quote(items: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def generate_rule(
    index: int, words: list[str], rng: random.Random, modifiers: bool = True
) -> GeneratedRule:
    """A rule of one of five kinds, with examples that must pass at load (``modifiers``:
    one rule in 40 a raise / lower modifier, and tags for them to act on)."""

    def pick(count: int) -> list[str]:
        return rng.sample(words, count)

    def phrase() -> str:
        return " ".join(pick(rng.choice((1, 1, 2, 2, 3))))

    kind = index % 5
    rule = GeneratedRule("")
    lines = [f'[[rule]]\nid = "gen.{index:05d}"']
    if index % 7 == 0:
        rule.lang = rng.choice(("en", "es"))
        lines.append(f'lang = ["{rule.lang}"]')
    if kind in (0, 1):  # phrases
        rule.phrases = sorted({phrase() for _ in range(rng.randint(3, 12))})
        lines.append(f"phrases = {_quote(rule.phrases)}")
        example = rule.phrases[0]
    elif kind == 2:  # patterns
        stems = pick(3)
        rule.patterns = [
            f"{stems[0][:-1]}\\w* (\\w+ )?{stems[1]}",
            f"{stems[2]}(s|ed|ing)? \\d+",
        ]
        lines.append("patterns = [" + ", ".join(f"'{p}'" for p in rule.patterns) + "]")
        example = f"{stems[0]} {stems[1]}"
    elif kind == 3:  # proximity
        a, b, within = sorted(set(pick(4))), sorted(set(pick(4))), rng.randint(2, 6)
        rule.near = (a, b, within)
        lines.append(f"near = {{ a = {_quote(a)}, b = {_quote(b)}, within = {within} }}")
        example = f"{a[0]} x {b[0]}"
    else:  # groups: all of them, or at least two of three
        rule.groups = [sorted(set(pick(3))) for _ in range(3)]
        if index % 2:
            rule.at_least = 3
            lines.append("all = [" + ", ".join(_quote(g) for g in rule.groups) + "]")
            example = " y ".join(group[0] for group in rule.groups)
        else:
            rule.at_least = 2
            lines.append("any = [" + ", ".join(_quote(g) for g in rule.groups) + "]\nat_least = 2")
            example = f"{rule.groups[0][0]} y {rule.groups[2][0]}"
    if index % 3 == 0:
        rule.unless = ["not", "never", "no"]
        rule.window = 2
        lines.append('unless = ["not", "never", "no"]\nnegation_window = 2')
    if modifiers and index % 40 == 20:
        # a modifier (issue 15): raises or lowers the rules tagged "t1", adds no score
        kind = "raise" if index % 80 == 20 else "lower"
        target = "critical" if kind == "raise" else "normal"
        lines.append(f'modifier = "{kind}"\nto = "{target}"\nacts_on = ["t1"]')
    else:
        if modifiers and index % 4 == 0:
            lines.append('tags = ["t1"]')
        lines.append(f"score = {rng.randint(1, 4)}")
        if index % 11 == 0:
            lines.append(f'urgency = "{rng.choice(("high", "critical"))}"')
    lines.append(f'[rule.examples]\nmatch = ["{example}"]')
    rule.toml = "\n".join(lines) + "\n"
    return rule


PATHOLOGICAL = """\
[[rule]]
id = "gen.pathological"
patterns = ['(a+)+$', '(a|aa)*c', '(x+x+)+y']
score = 1
[rule.examples]
match = ["aaaa", "aac", "xxxy"]
"""


def generate_pack(
    size: int, words: list[str], folder: Path, modifiers: bool = True
) -> list[GeneratedRule]:
    """Write a pack of ``size`` rules (one of them pathological) in ``folder``; without
    ``modifiers`` (for ``triage_ab.py``: an earlier commit cannot load them) none has tags or
    modifiers."""
    rng = random.Random(SEED + size)
    rules = [generate_rule(index, words, rng, modifiers) for index in range(size - 1)]
    body = "[pack]\n[pack.thresholds]\nhigh = 5\ncritical = 10\n\n"
    body += "\n".join(rule.toml for rule in rules) + "\n" + PATHOLOGICAL
    (folder / "generated.toml").write_text(body, encoding="utf-8")
    return rules


def text_of(length: int, words: list[str], seed: int, general: Sequence[str] = ()) -> str:
    """A message of ``length`` characters: Zipf-distributed words, punctuation, a few cues.

    With ``general``, 95% of the words come from it and 5% from ``words``.
    """
    rng = random.Random(seed)
    pool = general or words
    weights = [1.0 / (rank + 1) for rank in range(len(pool))]
    extra = ["not", "never", "no", "Help!", "I’m", "can't", "42", "ñandú", "🙂"]
    parts: list[str] = []
    size = 0
    while size < length:
        if rng.random() < 0.04:
            word = rng.choice(extra)
        elif general and rng.random() < 0.05:
            word = rng.choice(words)
        else:
            word = rng.choices(pool, weights)[0]
        if rng.random() < 0.08:
            word += rng.choice((",", ".", "!", "?", "…"))
        parts.append(word.capitalize() if rng.random() < 0.05 else word)
        size += len(word) + 1
    return " ".join(parts)[:length].rstrip()


# -- the naive loop (Python's re; only in this benchmark) ---------------------------------------------


class NaiveRule:
    """A generated rule compiled to Python ``re`` expressions, checked the obvious way."""

    def __init__(self, rule: GeneratedRule) -> None:
        def bounded(body: str) -> re.Pattern[str]:
            return re.compile(f"(?:^| )(?:{body})(?= |$)")

        def terms(items: Sequence[str]) -> re.Pattern[str]:
            return bounded("|".join(re.escape(item) for item in sorted(items, key=len, reverse=True)))

        self.lang = rule.lang
        parts = [re.escape(p) for p in rule.phrases] + [f"(?:{p})" for p in rule.patterns]
        self.terms = bounded("|".join(parts)) if parts else None
        self.near = (terms(rule.near[0]), terms(rule.near[1]), rule.near[2]) if rule.near else None
        self.groups = [terms(group) for group in rule.groups]
        self.at_least = rule.at_least
        self.unless = terms(rule.unless) if rule.unless else None
        self.window = rule.window

    def fires(self, text: str, words_before: Callable[[int], int], lang: str | None) -> bool:
        if self.lang and lang and lang != self.lang:
            return False
        if self.terms is not None:
            for match in self.terms.finditer(text):
                if not self._negated(text, match.start(), words_before):
                    return True
        if self.near is not None:
            a, b, within = self.near
            a_words = [words_before(m.start()) for m in a.finditer(text)]
            if a_words:
                for m in b.finditer(text):
                    word = words_before(m.start())
                    if any(abs(word - other) <= within for other in a_words) and not self._negated(
                        text, m.start(), words_before
                    ):
                        return True
        if self.groups:
            found = sum(
                1
                for group in self.groups
                if any(not self._negated(text, m.start(), words_before) for m in group.finditer(text))
            )
            return found >= self.at_least
        return False

    def _negated(self, text: str, start: int, words_before: Callable[[int], int]) -> bool:
        if self.unless is None:
            return False
        before = text[:start].split(" ")[-self.window - 1 :]
        return bool(self.unless.search(" " + " ".join(before)))


def naive_evaluate(rules: list[NaiveRule], text: str, lang: str | None) -> int:
    """How many rules fire: normalise (as the package does), then every rule in turn."""
    normalised = normalize(text).text
    counts: dict[int, int] = {}

    def words_before(position: int) -> int:
        if position not in counts:
            counts[position] = normalised.count(" ", 0, position)
        return counts[position]

    return sum(1 for rule in rules if rule.fires(normalised, words_before, lang))


# -- timing -------------------------------------------------------------------------------------------


def median_us(function: Callable[[], object], budget: float, least: int = 15, rounds: int = 5) -> float:
    """Median µs of single calls, in the least disturbed of ``rounds`` rounds.

    Each round times as many single calls as fit its share of ``budget``
    seconds (at least ``least``). This machine is shared and its speed drifts
    for seconds at a time, so the lowest round median is the steadiest figure;
    each round is still a median, not a best case.
    """
    for _ in range(3):
        function()
    medians: list[float] = []
    for _ in range(rounds):
        samples: list[int] = []
        deadline = time.perf_counter() + budget / rounds
        while len(samples) < least or time.perf_counter() < deadline:
            start = time.perf_counter_ns()
            function()
            samples.append(time.perf_counter_ns() - start)
            if len(samples) >= 20_000:
                break
        medians.append(statistics.median(samples) / 1_000)
    return min(medians)


def bench_sizes(
    words: list[str], general: list[str], budget: float, sizes: Sequence[int], naive: bool
) -> None:
    print("## Generated packs: median µs of one whole `evaluate()` call, and a naive per-rule `re` loop\n")
    print(
        "| rules | load s | text | chars | decision µs (`spans=False`) | ns/char "
        "| with spans µs | rules the prefilter runs | rules fired | naive `re` loop µs | naive / decision |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            generated = generate_pack(size, words, Path(folder))
            started = time.perf_counter()
            rules = load_rules([Path(folder)])
            loaded = time.perf_counter() - started
        naive_rules = [NaiveRule(rule) for rule in generated]
        for kind, pool in (("typical", general), ("dense", [])):
            for length in LENGTHS:
                texts = [text_of(length, words, seed, pool) for seed in range(5)]
                decision_us = statistics.median(
                    median_us(functools.partial(rules.evaluate, text, lang="en", spans=False), budget / 10)
                    for text in texts
                )
                spans_us = statistics.median(
                    median_us(functools.partial(rules.evaluate, text, lang="en"), budget / 10)
                    for text in texts
                )
                candidates = statistics.median(
                    len(rules._prefilter.candidates(normalize(text).text.encode())) for text in texts
                )
                fired = statistics.median(len(rules.evaluate(text, lang="en").fired) for text in texts)
                if naive:
                    naive_us = statistics.median(
                        median_us(
                            functools.partial(naive_evaluate, naive_rules, text, "en"), budget / 10, least=3
                        )
                        for text in texts
                    )
                    naive_cells = f"{naive_us:,.0f} | {naive_us / decision_us:,.0f}×"
                else:
                    naive_cells = "- | -"
                print(
                    f"| {size:,} | {loaded:.1f} | {kind} | {length:,} | {decision_us:,.1f} "
                    f"| {decision_us * 1000 / length:,.0f} | {spans_us:,.1f} | {candidates:g} | {fired:g} "
                    f"| {naive_cells} |"
                )
                sys.stdout.flush()
    print()


def bench_pathological(words: list[str], budget: float) -> None:
    print("## A pathological pattern: `(a+)+$` (with `(a|aa)*c` and `(x+x+)+y`) in a 1,000-rule pack\n")
    with tempfile.TemporaryDirectory() as folder:
        generate_pack(1_000, words, Path(folder))
        rules = load_rules([Path(folder)])
    print("| text | chars | evaluate µs (median) | evaluate ns/char |")
    print("|---|---:|---:|---:|")
    for length in (200, 2_000, 5_000, 50_000):
        for name, text in (("a…a!", "a" * (length - 1) + "!"), ("a…a", "a" * length)):
            took = median_us(functools.partial(rules.evaluate, text, spans=False), budget / 8)
            print(f"| {name} | {length:,} | {took:,.1f} | {took * 1000 / length:,.1f} |")
    print()
    print(
        'Python\'s `re` on the same pattern (one search of `(a+)+$` over "a…a!", stopping after the first search over 1 s):\n'
    )
    print("| chars | `re` ms |")
    print("|---:|---:|")
    pattern = re.compile("(a+)+$")
    for length in (16, 18, 20, 22, 24, 26):
        start = time.perf_counter()
        pattern.search("a" * length + "!")
        took = time.perf_counter() - start
        print(f"| {length + 1} | {took * 1000:,.1f} |")
        if took > 1.0:
            break
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing budgets")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive re loop")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="pack sizes, comma-separated")
    args = parser.parse_args()
    budget = 0.5 if args.quick else 3.0
    words = vocabulary(VOCABULARY, random.Random(SEED))
    general = [word + "x" for word in vocabulary(VOCABULARY, random.Random(SEED + 1))]
    sizes = tuple(int(size) for size in args.sizes.split(","))
    print(
        f"{datetime.date.today().isoformat()}, Python {sys.version.split()[0]}, "
        f"{platform.machine()}, `bench/triage_scale.py{' --quick' if args.quick else ''}`\n"
    )
    bench_sizes(words, general, budget, sizes, naive=not args.no_naive)
    bench_pathological(words, budget)


if __name__ == "__main__":
    main()
