"""The second reader: a small linear classifier that may raise the rules' urgency, never lower it.

Rules say what administrators wrote; on words no rule names they stay silent,
and an emergency told in plain words lands at ``normal``. The reader is a
logistic model over word and character n-grams (``reader_features``) trained
on the labelled corpora (``train/train_reader.py``). It gives two
probabilities, P(critical) and P(high or critical), and suggests:

* ``critical`` when P(critical) reaches the critical threshold,
* else ``high`` when P(high or critical) reaches the high threshold,
* else nothing.

``combine`` takes the higher of the rules' urgency and the suggestion: the
reader can only raise. It does not raise a message the rules rated ``low``:
that urgency comes only from a rule that judged the message not a live report
(spam, a joke, news, a question; the packs' default is ``normal``), and the
rules stay what administrators tune. The thresholds were chosen by
cross-validation on the training data alone, so that the reader rated no low or
normal training message critical.

The weights ship as data (``reader_weights.json``). Their ``version`` is a
hash of the weights, the thresholds, the feature settings and the training
set's hash; ``load_reader`` recomputes it and refuses a file whose contents
do not match its version, so every decision names exactly the reader that
made it. Inference is pure Python: one dictionary lookup per feature.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from .errors import RuleError
from .reader_features import CHAR_SIZES, features
from .urgency import Urgency

WEIGHTS_FORMAT = 1


class ReaderError(RuleError):
    """A weights file that cannot be used (unreadable, malformed, or not matching its version)."""


@dataclass(frozen=True)
class Reading:
    """What the reader made of one text."""

    version: str
    p_critical: float
    p_high: float
    """P(high or critical)."""
    suggests: Urgency | None
    """The urgency it would raise a lower decision to, if any."""
    cues: tuple[str, ...] = ()
    """For ``explain``: the words and word pairs that pushed P(critical) up most (empty in triage)."""

    def to_json(self) -> dict[str, object]:
        return {
            "version": self.version,
            "p_critical": round(self.p_critical, 4),
            "p_high": round(self.p_high, 4),
            "suggests": self.suggests.value if self.suggests else None,
        }


def combine(rules: Urgency, reading: Reading | None) -> Urgency:
    """The urgency with the reader's suggestion: the higher of the two (it never lowers),
    except that a message the rules rated ``low`` (not a live report) stays low."""
    if reading is None or reading.suggests is None or rules is Urgency.LOW or reading.suggests <= rules:
        return rules
    return reading.suggests


@dataclass(frozen=True)
class Reader:
    """A loaded reader: per feature its weight in the critical model and in the high model
    (``vocabulary``: the features either model knows, for one set intersection per text)."""

    version: str
    critical_weights: dict[str, float]
    high_weights: dict[str, float]
    vocabulary: frozenset[str]
    bias: tuple[float, float]
    critical_threshold: float
    high_threshold: float
    training_sha256: str

    def read(self, text: str, *, cues: int = 0) -> Reading:
        """The two probabilities for ``text`` and the urgency they suggest.

        ``cues``: how many of the strongest critical features to report (for ``explain``).
        """
        found = features(text)
        scale = 1.0 / math.sqrt(len(found)) if found else 0.0
        known = found & self.vocabulary
        # fsum: exact, so the sum does not depend on the set's (per-process) iteration order
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
            # words and word pairs only: character runs say little to a reader of ``explain``
            hits = sorted(((self.critical_weights[f], f[2:]) for f in known if f[:2] in ("w:", "b:")),
                          key=lambda h: (-h[0], h[1]))
            shown = tuple(feature for weight, feature in hits[:cues] if weight > 0)
        return Reading(self.version, p_critical, p_high, suggests, shown)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def default_reader_path() -> Path:
    """The weights shipped with the package."""
    return Path(__file__).with_name("reader_weights.json")


def reader_version(payload: dict[str, object]) -> str:
    """The version of a weights document: a hash of everything but the version itself."""
    body = {key: value for key, value in payload.items() if key != "version"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "rd-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def load_reader(path: Path | None = None) -> Reader:
    """Load and check a weights file (default: the shipped one). Raises ReaderError."""
    where = path or default_reader_path()
    try:
        payload = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ReaderError(f"{where.name}: cannot read the reader's weights ({e})") from e
    return reader_from_json(payload, source=where.name)


def reader_from_json(payload: object, *, source: str = "<weights>") -> Reader:
    """A reader from a parsed weights document (see ``train/train_reader.py``)."""
    if not isinstance(payload, dict):
        raise ReaderError(f"{source}: the weights must be a JSON object")
    try:
        if payload["format"] != WEIGHTS_FORMAT:
            raise ReaderError(f"{source}: unknown weights format {payload['format']!r}")
        if tuple(payload["char_sizes"]) != CHAR_SIZES:
            raise ReaderError(f"{source}: trained with other features than this reader reads")
        vocab = payload["vocab"]
        crit, high = payload["critical"]["weights"], payload["high"]["weights"]
        if not (isinstance(vocab, list) and isinstance(crit, list) and isinstance(high, list)
                and len(vocab) == len(crit) == len(high)):
            raise ReaderError(f"{source}: vocab and weights must be lists of one length")
        names = [str(f) for f in vocab]
        reader = Reader(
            version=str(payload["version"]),
            critical_weights={f: float(c) for f, c in zip(names, crit, strict=True)},
            high_weights={f: float(h) for f, h in zip(names, high, strict=True)},
            vocabulary=frozenset(names),
            bias=(float(payload["critical"]["bias"]), float(payload["high"]["bias"])),
            critical_threshold=float(payload["critical"]["threshold"]),
            high_threshold=float(payload["high"]["threshold"]),
            training_sha256=str(payload["training_sha256"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ReaderError(f"{source}: malformed weights ({e!r})") from e
    expected = reader_version(payload)
    if reader.version != expected:
        raise ReaderError(
            f"{source}: its contents do not match its version {reader.version} (they hash to {expected})"
        )
    return reader
