"""Leave-one-source-out: how the reader does on a writer it has never read.

Run (from the repository root):

    .venv/bin/python -m triage_rules.train.crossval [--l2 X] [--epochs N]

For each source (``sources.SOURCES``: one labelled file, one writer), the reader is
trained on every other source and reads the held-out one; the shipped rules decide
first, and the reader may only raise (``reader.combine``). The report gives, per
held-out source and per language, rules alone and rules + reader: critical recall,
critical precision, exact urgency, and low or normal messages rated critical.

This is the generalisation proxy every choice of the reader (features, settings,
thresholds) is made on: a random K-fold split scatters one writer's phrasings over
training and test alike and flatters the model (the first unseen set scored 0.97
after guiding training; the second, by a new writer, 0.84).

The thresholds are chosen on the pooled held-out probabilities (``choose_thresholds``),
so the pooled figures they give are slightly optimistic for the threshold alone; the
probabilities themselves never saw the source they score.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..compare import evaluate_corpus
from ..corpus import CorpusItem
from ..loader import default_pack_dir, load_rules
from ..reader import Reading, combine
from ..urgency import Urgency
from .fitting import choose_thresholds, fit, score, suggested, targets, vocabulary
from .logistic import Settings
from .sources import Data, load_training


@dataclass(frozen=True)
class Held:
    """Out-of-source probabilities for every training message."""

    p_critical: list[float]
    p_high: list[float]


def leave_one_source_out(data: Data, settings: Settings) -> Held:
    """Each message's probabilities from the two models trained on every other source."""
    crit_y, high_y = targets(data.items)
    p_crit = [0.0] * len(data.items)
    p_high = [0.0] * len(data.items)
    for held in data.names:
        train_at = [i for i, s in enumerate(data.sources) if s != held]
        feats = [data.feats[i] for i in train_at]
        wts = [data.weights[i] for i in train_at]
        vocab = vocabulary(feats)
        index = {v: i for i, v in enumerate(vocab)}
        wc, bc = fit(feats, [crit_y[i] for i in train_at], wts, vocab, settings)
        wh, bh = fit(feats, [high_y[i] for i in train_at], wts, vocab, settings)
        for i, s in enumerate(data.sources):
            if s == held:
                p_crit[i] = score(wc, bc, data.feats[i], index)
                p_high[i] = score(wh, bh, data.feats[i], index)
    return Held(p_crit, p_high)


def raised_urgencies(rules: Sequence[Urgency], held: Held, thresholds: tuple[float, float],
                     live: Sequence[bool]) -> list[Urgency]:
    """The rules' urgencies raised by the held-out readings at ``thresholds`` (``live``: each
    decision's ``Decision.live``)."""
    return [combine(rule, Reading("", pc, ph, suggested(pc, ph, thresholds)), live=is_live)
            for rule, pc, ph, is_live in zip(rules, held.p_critical, held.p_high, live, strict=True)]


@dataclass(frozen=True)
class Scores:
    """The issue-15 bar's four figures for one group of messages."""

    messages: int
    critical: int
    recall: float | None
    precision: float | None
    exact: float
    low_normal_critical: int

    def cells(self) -> list[str]:
        def r(x: float | None) -> str:
            return "–" if x is None else f"{x:.2f}"
        return [r(self.recall), r(self.precision), r(self.exact), str(self.low_normal_critical)]


def scores(labels: Sequence[Urgency], decided: Sequence[Urgency]) -> Scores:
    c = Urgency.CRITICAL
    support = sum(1 for lab in labels if lab is c)
    predicted = sum(1 for d in decided if d is c)
    hit = sum(1 for lab, d in zip(labels, decided, strict=True) if lab is c and d is c)
    over = sum(1 for lab, d in zip(labels, decided, strict=True) if lab <= Urgency.NORMAL and d is c)
    exact = sum(1 for lab, d in zip(labels, decided, strict=True) if lab is d) / max(len(labels), 1)
    return Scores(len(labels), support, hit / support if support else None,
                  hit / predicted if predicted else None, exact, over)


def table(items: Sequence[CorpusItem], sources: Sequence[str], rules: Sequence[Urgency],
          final: Sequence[Urgency]) -> str:
    """Markdown: one row per held-out source and language, then all sources pooled."""
    head = ("| held out | lang | msgs | crit | rules: recall | prec | exact | L/N→C "
            "| +reader: recall | prec | exact | L/N→C |")
    lines = [head, "|---|---|" + "---:|" * 10]
    groups: list[tuple[str, str, list[int]]] = []
    for source in dict.fromkeys(sources):
        for lang in ("en", "es", "all"):
            at = [i for i, s in enumerate(sources)
                  if s == source and (lang == "all" or items[i].lang == lang)]
            if at:
                groups.append((source.removesuffix(".jsonl"), lang, at))
    for lang in ("en", "es", "all"):
        at = [i for i in range(len(items)) if lang == "all" or items[i].lang == lang]
        groups.append(("**pooled**", lang, at))
    for name, lang, at in groups:
        labels = [items[i].urgency for i in at]
        alone = scores(labels, [rules[i] for i in at])
        both = scores(labels, [final[i] for i in at])
        lines.append(f"| {name} | {lang} | {alone.messages} | {alone.critical} | "
                     + " | ".join(alone.cells() + both.cells()) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--epochs", type=int, default=Settings.epochs)
    parser.add_argument("--l2", type=float, default=Settings.l2)
    parser.add_argument("--rate", type=float, default=Settings.rate)
    args = parser.parse_args(argv)
    settings = Settings(epochs=args.epochs, rate=args.rate, l2=args.l2)
    data = load_training(args.root)
    ruleset = load_rules([default_pack_dir()])
    decisions = evaluate_corpus(ruleset, data.items)
    rules = [d.urgency for d in decisions]
    live = [d.live for d in decisions]
    held = leave_one_source_out(data, settings)
    thresholds = choose_thresholds(data.items, rules, held.p_critical, held.p_high, live)
    final = raised_urgencies(rules, held, thresholds, live)
    print(f"leave-one-source-out: {len(data.names)} sources, {len(data.items)} messages, "
          f"settings {settings}, rule set {ruleset.version}")
    print(f"thresholds (chosen on the pooled held-out probabilities): critical {thresholds[0]}, "
          f"high {thresholds[1]}\n")
    print(table(data.items, data.sources, rules, final))


if __name__ == "__main__":
    main()
