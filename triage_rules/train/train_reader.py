"""Train the second reader, choose its thresholds out of source, write its weights.

Run (from the repository root):

    .venv/bin/python -m triage_rules.train.train_reader            # report + write the weights
    .venv/bin/python -m triage_rules.train.train_reader --cv-only  # the report alone

Data: every labelled file of ``sources.SOURCES`` present (the unseen sets measured once
and retired included; never a set still blind). The issue-3 corpora were labelled by an
older guide that rates some coercion critical; they count half.

Thresholds come from leave-one-source-out probabilities (``crossval.py``): each message
read by the models trained on every *other* writer, the nearest thing to a blind set's
new writer (a random K-fold split flatters: the same writer's phrasings sit on both
sides). ``fitting.choose_thresholds`` says how.

Everything is seeded: the same data and settings give the same bytes, hence the
same version.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from ..compare import evaluate_corpus
from ..loader import default_pack_dir, load_rules
from ..reader import WEIGHTS_FORMAT, default_reader_path, reader_version
from ..reader_features import CHAR_SIZES, SKIP_PAIRS
from . import fitting
from .crossval import leave_one_source_out, raised_urgencies, table
from .fitting import choose_thresholds, fit, targets, vocabulary
from .logistic import Settings
from .sources import OLD_GUIDE_WEIGHT, Data, load_training


def write_weights(data: Data, settings: Settings, thresholds: tuple[float, float], path: Path,
                  rules_version: str) -> str:
    """Fit both models on every source and write the weights document; its version.

    ``rules_version``: the rule set whose decisions the thresholds were chosen against (the
    reader raises what those rules miss; other rules, other misses)."""
    crit_y, high_y = targets(data.items)
    vocab = vocabulary(data.feats)
    wc, bc = fit(data.feats, crit_y, data.weights, vocab, settings)
    wh, bh = fit(data.feats, high_y, data.weights, vocab, settings)
    keep = [i for i in range(len(vocab)) if wc[i] != 0.0 or wh[i] != 0.0]
    payload: dict[str, object] = {
        "format": WEIGHTS_FORMAT,
        "char_sizes": list(CHAR_SIZES),
        "skip_pairs": SKIP_PAIRS,
        "training": list(data.names),
        "training_sha256": data.sha256,
        "thresholds_rules": rules_version,
        "settings": {"epochs": settings.epochs, "rate": settings.rate, "l2": settings.l2,
                     "seed": settings.seed, "min_df": fitting.MIN_DF,
                     "thresholds": "leave-one-source-out",
                     "critical_allowance": fitting.CRITICAL_ALLOWANCE,
                     "old_guide_weight": OLD_GUIDE_WEIGHT, "prune": fitting.PRUNE},
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
    settings = Settings(epochs=args.epochs, rate=args.rate, l2=args.l2)
    data = load_training(args.root)
    ruleset = load_rules([default_pack_dir()])
    decisions = evaluate_corpus(ruleset, data.items)
    rules = [d.urgency for d in decisions]
    live = [d.live for d in decisions]
    held = leave_one_source_out(data, settings)
    thresholds = choose_thresholds(data.items, rules, held.p_critical, held.p_high, live)
    print(f"{len(data.items)} training messages from {len(data.names)} sources, settings {settings}, "
          f"rule set {ruleset.version}")
    print(f"thresholds (leave-one-source-out): critical {thresholds[0]}, high {thresholds[1]}\n")
    print(table(data.items, data.sources, rules, raised_urgencies(rules, held, thresholds, live)))
    if not args.cv_only:
        version = write_weights(data, settings, thresholds, args.out, ruleset.version)
        print(f"\nwrote {args.out.name}: {version}")


if __name__ == "__main__":
    main()
