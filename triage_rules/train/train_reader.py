"""Train the second reader, choose its thresholds by cross-validation, write its weights.

Run (from the repository root):

    .venv/bin/python -m triage_rules.train.train_reader            # CV report + write the weights
    .venv/bin/python -m triage_rules.train.train_reader --cv-only  # the report alone

Data: the labelled corpora named in ``TRAINING`` (never the unseen set). The
issue-3 corpora were labelled by an older guide that rates some coercion
critical; they count half (``OLD_GUIDE_WEIGHT``).

Two binary models share the features: critical vs the rest, and high-or-critical
vs the rest. Thresholds come from K-fold out-of-fold probabilities on the
training data only:

* critical: the lowest threshold (0.01 steps) at which the reader, out of fold,
  raises no low or normal training message to critical that the shipped rules had
  rated normal or high (critical: the rules' own error, which it cannot undo; low:
  it leaves those alone, see ``reader.combine``);
* high: the threshold that best trades raising high-or-critical messages the rules
  put lower against raising low or normal ones (each wrong raise counts twice).

Everything is seeded: the same data and settings give the same bytes, hence the
same version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..compare import evaluate_corpus, load_corpus
from ..corpus import CorpusItem
from ..loader import default_pack_dir, load_rules
from ..metrics import breakdown, breakdown_table, confusion_table, metrics, metrics_table
from ..model import Decision
from ..reader import WEIGHTS_FORMAT, Reading, combine, default_reader_path, reader_version
from ..reader_features import CHAR_SIZES, features
from ..urgency import Urgency
from .logistic import Example, Settings, predict, train

DATA = Path("tests") / "data"
TRAINING: tuple[str, ...] = (
    "triage_corpus.jsonl",
    "triage_heldout.jsonl",
    "triage_dev.jsonl",
    "triage_train_extra.jsonl",
)
OLD_GUIDE = frozenset({"triage_corpus.jsonl", "triage_heldout.jsonl"})
OLD_GUIDE_WEIGHT = 0.5
MIN_DF = 2
FOLDS = 5
SEED = 15
PRUNE = 0.01


@dataclass(frozen=True)
class Data:
    items: list[CorpusItem]
    feats: list[frozenset[str]]
    weights: list[float]
    sha256: str


def load_training(root: Path) -> Data:
    items: list[CorpusItem] = []
    weights: list[float] = []
    digest = hashlib.sha256()
    for name in TRAINING:
        path = root / DATA / name
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        loaded = load_corpus(path)
        items.extend(loaded)
        weights.extend([OLD_GUIDE_WEIGHT if name in OLD_GUIDE else 1.0] * len(loaded))
    return Data(items, [features(item.text) for item in items], weights, digest.hexdigest())


def vocabulary(feats: Sequence[frozenset[str]]) -> list[str]:
    counts: Counter[str] = Counter()
    for found in feats:
        counts.update(found)
    return sorted(f for f, n in counts.items() if n >= MIN_DF)


def fit(feats: Sequence[frozenset[str]], labels: Sequence[int], weights: Sequence[float],
        vocab: Sequence[str], settings: Settings) -> tuple[list[float], float]:
    index = {f: i for i, f in enumerate(vocab)}
    examples = [
        Example(tuple(sorted(index[f] for f in found if f in index)), label, weight)
        for found, label, weight in zip(feats, labels, weights, strict=True)
    ]
    w, b = train(examples, len(vocab), settings)
    return [round(x, 4) if abs(x) >= PRUNE else 0.0 for x in w], round(b, 4)


def _indices(found: frozenset[str], index: dict[str, int]) -> list[int]:
    # every feature counts for the 1/sqrt(n) scale, known or not (as Reader.read does)
    return [index.get(f, -1) for f in found]


def score(weights: Sequence[float], bias: float, found: frozenset[str], index: dict[str, int]) -> float:
    known = _indices(found, index)
    padded = [*weights, 0.0]
    return predict(padded, bias, [i if i >= 0 else len(weights) for i in known])


def targets(items: Sequence[CorpusItem]) -> tuple[list[int], list[int]]:
    critical = [int(item.urgency is Urgency.CRITICAL) for item in items]
    high = [int(item.urgency >= Urgency.HIGH) for item in items]
    return critical, high


def folds(items: Sequence[CorpusItem], k: int, seed: int) -> list[int]:
    """A fold per item, stratified by label and language."""
    rng = random.Random(seed)  # noqa: S311 -- seeded, reproducible folds, not a secret
    groups: dict[tuple[str, str], list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault((item.urgency.value, item.lang or ""), []).append(i)
    fold = [0] * len(items)
    for key in sorted(groups):
        members = groups[key]
        rng.shuffle(members)
        for j, i in enumerate(members):
            fold[i] = j % k
    return fold


def out_of_fold(data: Data, settings: Settings, k: int = FOLDS) -> tuple[list[float], list[float]]:
    crit_y, high_y = targets(data.items)
    fold = folds(data.items, k, SEED)
    p_crit = [0.0] * len(data.items)
    p_high = [0.0] * len(data.items)
    for f in range(k):
        train_at = [i for i in range(len(data.items)) if fold[i] != f]
        feats = [data.feats[i] for i in train_at]
        wts = [data.weights[i] for i in train_at]
        vocab = vocabulary(feats)
        index = {v: i for i, v in enumerate(vocab)}
        wc, bc = fit(feats, [crit_y[i] for i in train_at], wts, vocab, settings)
        wh, bh = fit(feats, [high_y[i] for i in train_at], wts, vocab, settings)
        for i in range(len(data.items)):
            if fold[i] == f:
                p_crit[i] = score(wc, bc, data.feats[i], index)
                p_high[i] = score(wh, bh, data.feats[i], index)
    return p_crit, p_high


def choose_thresholds(items: Sequence[CorpusItem], rules: Sequence[Urgency], p_crit: Sequence[float],
                      p_high: Sequence[float]) -> tuple[float, float]:
    """Thresholds from out-of-fold probabilities, judged on what the reader would change.

    critical: the lowest threshold (on a 0.01 grid) at which the reader, out of fold,
    raises no low or normal training message to critical that the rules had not;
    high: the threshold where raising messages the rules put below high gains most
    (+1 for a high or critical message, -2 for a low or normal one).
    """
    # the messages the reader could wrongly page for: low or normal, which the rules rated
    # neither critical (already paged) nor low (the reader leaves those alone)
    lowish = [p for item, rule, p in zip(items, rules, p_crit, strict=True)
              if item.urgency <= Urgency.NORMAL and rule in (Urgency.NORMAL, Urgency.HIGH)]
    top = max(lowish, default=0.0)
    critical = next((t / 100 for t in range(50, 100) if t / 100 > top), 0.99)
    best, high = -1e9, 0.99
    for step in range(50, 100):
        t = step / 100
        gain = 0.0
        for item, rule, p in zip(items, rules, p_high, strict=True):
            if p >= t and rule is Urgency.NORMAL:
                gain += 1.0 if item.urgency >= Urgency.HIGH else -2.0
        if gain > best:
            best, high = gain, t
    return critical, high


def suggested(p_crit: float, p_high: float, thresholds: tuple[float, float]) -> Urgency | None:
    if p_crit >= thresholds[0]:
        return Urgency.CRITICAL
    if p_high >= thresholds[1]:
        return Urgency.HIGH
    return None


def raised(decisions: Sequence[Decision], p_crit: Sequence[float], p_high: Sequence[float],
           thresholds: tuple[float, float]) -> list[Decision]:
    out = []
    for decision, pc, ph in zip(decisions, p_crit, p_high, strict=True):
        s = suggested(pc, ph, thresholds)
        urgency = combine(decision.urgency, Reading("", pc, ph, s))
        out.append(decision if urgency is decision.urgency else replace(decision, urgency=urgency))
    return out


def report(title: str, decisions: Sequence[Decision], items: Sequence[CorpusItem]) -> str:
    result = metrics(decisions, items)
    return "\n\n".join([
        f"#### {title} ({len(items)} messages)",
        metrics_table(result),
        confusion_table(result.confusion),
        breakdown_table(breakdown(decisions, items)),
    ])


def write_weights(data: Data, settings: Settings, thresholds: tuple[float, float], path: Path) -> str:
    crit_y, high_y = targets(data.items)
    vocab = vocabulary(data.feats)
    wc, bc = fit(data.feats, crit_y, data.weights, vocab, settings)
    wh, bh = fit(data.feats, high_y, data.weights, vocab, settings)
    keep = [i for i in range(len(vocab)) if wc[i] != 0.0 or wh[i] != 0.0]
    payload: dict[str, object] = {
        "format": WEIGHTS_FORMAT,
        "char_sizes": list(CHAR_SIZES),
        "training": list(TRAINING),
        "training_sha256": data.sha256,
        "settings": {"epochs": settings.epochs, "rate": settings.rate, "l2": settings.l2,
                     "seed": settings.seed, "min_df": MIN_DF, "folds": FOLDS,
                     "old_guide_weight": OLD_GUIDE_WEIGHT, "prune": PRUNE},
        "vocab": [vocab[i] for i in keep],
        "critical": {"bias": bc, "threshold": thresholds[0], "weights": [wc[i] for i in keep]},
        "high": {"bias": bh, "threshold": thresholds[1], "weights": [wh[i] for i in keep]},
    }
    payload["version"] = reader_version(payload)
    path.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    return str(payload["version"])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--out", type=Path, default=default_reader_path())
    parser.add_argument("--cv-only", action="store_true")
    parser.add_argument("--epochs", type=int, default=Settings.epochs)
    parser.add_argument("--l2", type=float, default=Settings.l2)
    parser.add_argument("--rate", type=float, default=Settings.rate)
    args = parser.parse_args(argv)
    settings = Settings(epochs=args.epochs, rate=args.rate, l2=args.l2, seed=SEED)
    data = load_training(args.root)
    p_crit, p_high = out_of_fold(data, settings)
    rules = load_rules([default_pack_dir()])
    decisions = evaluate_corpus(rules, data.items)
    thresholds = choose_thresholds(data.items, [d.urgency for d in decisions], p_crit, p_high)
    with_reader = raised(decisions, p_crit, p_high, thresholds)
    alone = [replace(d, urgency=suggested(pc, ph, thresholds) or Urgency.NORMAL)
             for d, pc, ph in zip(decisions, p_crit, p_high, strict=True)]
    print(f"{len(data.items)} training messages, {FOLDS}-fold CV, settings {settings}, "
          f"rule set {rules.version}")
    print(f"thresholds: critical {thresholds[0]}, high {thresholds[1]}\n")
    print(report("rules alone (tuned on most of these)", decisions, data.items), "\n")
    print(report("reader alone, out of fold (no suggestion = normal)", alone, data.items), "\n")
    print(report("rules + reader, reader out of fold", with_reader, data.items), "\n")
    extra = [i for i, item in enumerate(data.items) if item.source.endswith("triage_train_extra.jsonl")]
    if extra:
        sub = [data.items[i] for i in extra]
        print(report("extra set only: rules alone", [decisions[i] for i in extra], sub), "\n")
        print(report("extra set only: rules + reader out of fold", [with_reader[i] for i in extra], sub))
    if not args.cv_only:
        version = write_weights(data, settings, thresholds, args.out)
        print(f"\nwrote {args.out.name}: {version}")


if __name__ == "__main__":
    main()
