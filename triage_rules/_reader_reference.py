"""The original second reader: the specification ``Reader.read`` must meet.

``read`` here is what ``Reader.read`` did before it was rewritten for speed:
the feature set of ``reader_features.features`` (the strings the trainer
learnt from: ``w:``, ``b:``, ``c:``, ``n:``), intersected with the
vocabulary, and two exact sums (``math.fsum``) of the weights of the
features found. Only the tests (and ``bench/reader_bench.py``) import this
module: they check that ``Reader.read`` gives the same probabilities, the
same suggestion and the same cues on every text.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .reader import Reading, default_reader_path
from .reader_features import features
from .urgency import Urgency


@dataclass(frozen=True)
class ReferenceReader:
    """Today's ``Reader`` as it was: one dictionary per model, keyed by feature name."""

    version: str
    critical_weights: dict[str, float]
    high_weights: dict[str, float]
    vocabulary: frozenset[str]
    bias: tuple[float, float]
    critical_threshold: float
    high_threshold: float

    @classmethod
    def load(cls, path: Path | None = None) -> ReferenceReader:
        """The weights file read as the original loader read it (no checks: ``load_reader``
        checks the same file)."""
        return cls.from_json(json.loads((path or default_reader_path()).read_text(encoding="utf-8")))

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> ReferenceReader:
        """The original dictionaries from a parsed weights document."""
        names = [str(f) for f in payload["vocab"]]
        crit, high = payload["critical"], payload["high"]
        return cls(
            version=str(payload["version"]),
            critical_weights={f: float(c) for f, c in zip(names, crit["weights"], strict=True)},
            high_weights={f: float(h) for f, h in zip(names, high["weights"], strict=True)},
            vocabulary=frozenset(names),
            bias=(float(crit["bias"]), float(high["bias"])),
            critical_threshold=float(crit["threshold"]),
            high_threshold=float(high["threshold"]),
        )

    def read(self, text: str, *, cues: int = 0) -> Reading:
        found = features(text)
        scale = 1.0 / math.sqrt(len(found)) if found else 0.0
        known = found & self.vocabulary
        crit = math.fsum(map(self.critical_weights.__getitem__, known)) * scale + self.bias[0]
        high = math.fsum(map(self.high_weights.__getitem__, known)) * scale + self.bias[1]
        p_critical, p_high = _sigmoid(crit), _sigmoid(high)
        suggests: Urgency | None = None
        if p_critical >= self.critical_threshold:
            suggests = Urgency.CRITICAL
        elif p_high >= self.high_threshold:
            suggests = Urgency.HIGH
        shown: tuple[str, ...] = ()
        if cues:
            hits = sorted(((self.critical_weights[f], f[2:]) for f in known if f[:2] in ("w:", "b:")),
                          key=lambda h: (-h[0], h[1]))
            shown = tuple(feature for weight, feature in hits[:cues] if weight > 0)
        return Reading(self.version, p_critical, p_high, suggests, shown)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
