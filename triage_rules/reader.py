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
reader can only raise. It raises a message a ``final`` rule judged not a live
report (a story, an exercise: ``Decision.live``) to ``high`` at most, and it
does not raise a message the rules rated ``low``:
that urgency comes only from a rule that judged the message not a live report
(spam, a joke, news, a question; the packs' default is ``normal``), and the
rules stay what administrators tune. The thresholds were chosen by
cross-validation on the training data alone, so that the reader rated no low or
normal training message critical.

The weights ship as data (``reader_weights.json``). Their ``version`` is a
hash of the weights, the thresholds, the feature settings and the training
set's hash; ``load_reader`` recomputes it and refuses a file whose contents
do not match its version, so every decision names exactly the reader that
made it.

Inference gives bit for bit what the original inference gave
(``_reader_reference``, held to it by the tests), by one of two routes:

* over numpy arrays (``reader_arrays``) for texts of ``ARRAYS_FROM`` normalised
  characters or more: every feature an integer key, one sort for the distinct
  ones, a cuckoo table lookup, two exact integer sums (about 90 µs for a 1.5 KB
  report where the pure-Python route took 210-580 µs: ``bench/reader_bench.py``);
* in pure Python for shorter texts, for ``explain``'s cues, and for weights the
  arrays cannot hold exactly: the features found without building their names,
  one dictionary lookup per feature, two ``math.fsum``.

``triage`` normalises a text once for the rules and the reader
(``read_normalized``).
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from dataclasses import dataclass, field, replace
from itertools import pairwise
from operator import itemgetter
from pathlib import Path

from .errors import RuleError
from .reader_arrays import ReaderArrays, build_tables
from .reader_features import CHAR_SIZES, MAX_CHARS, SKIP_PAIRS, length_bucket, normalized_text
from .urgency import Urgency

WEIGHTS_FORMAT = 1

ARRAYS_FROM = 160
"""From this many normalised characters on, a reading over arrays costs less than one in
pure Python (``bench/reader_bench.py``: about equal at 160, 37 vs 45 µs at 200)."""


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


def combine(rules: Urgency, reading: Reading | None, *, live: bool = True) -> Urgency:
    """The urgency with the reader's suggestion: the higher of the two (it never lowers),
    except that a message the rules rated ``low`` (not a live report) stays low, and one a
    ``final`` rule judged not a live report (``live=False``: a story, an exercise, a role
    play, whose "tonight" is the story's) is raised to ``high`` at most."""
    if reading is None or reading.suggests is None or rules is Urgency.LOW:
        return rules
    suggests = reading.suggests
    if not live and suggests is Urgency.CRITICAL:
        suggests = Urgency.HIGH
    return suggests if suggests > rules else rules


Term = str | tuple[str, str] | tuple[str, str, str]
"""How the reader keys ``w:``, ``b:`` and ``s:`` features: a word, a pair of neighbouring
words, a pair of words one apart as ``(first, SKIP, second)`` (the only 3-tuples)."""

SKIP = "_"


@dataclass(frozen=True)
class Reader:
    """A loaded reader. ``terms`` (words, and pairs of words as tuples) and ``runs`` (runs
    of characters, as their UTF-32 bytes) give each known feature its place in
    ``critical_weights`` and ``high_weights`` (the weights file's order, from 1; place 0
    weighs 0.0): one lookup per feature, no feature name built per text."""

    version: str
    terms: dict[Term, int]
    runs: dict[bytes, int]
    critical_weights: tuple[float, ...]
    high_weights: tuple[float, ...]
    lengths: dict[str, int]
    """The ``n:`` length buckets' places in the weight tuples."""
    bias: tuple[float, float]
    critical_threshold: float
    high_threshold: float
    training_sha256: str
    arrays: ReaderArrays | None = field(default=None, compare=False, repr=False)
    """The same tables as arrays (``reader_arrays``), None where they cannot hold them exactly."""

    @property
    def size(self) -> int:
        """How many features the reader knows."""
        return len(self.terms) + len(self.runs) + len(self.lengths)

    def read(self, text: str, *, cues: int = 0) -> Reading:
        """The two probabilities for ``text`` and the urgency they suggest.

        ``cues``: how many of the strongest critical features to report (for ``explain``).
        The features are those of ``reader_features.features`` (distinct words, pairs, runs
        of 4 characters of `` text ``, a length bucket), found without their names.
        """
        return self.read_normalized(normalized_text(text), cues=cues)

    def read_normalized(self, flat: str, *, cues: int = 0) -> Reading:
        """``read`` for a text already normalised: ``prepare_for_matching(text).text``, which
        the rules computed already (``triage``); read up to ``MAX_CHARS`` characters.

        Over arrays (``reader_arrays``) from ``ARRAYS_FROM`` characters on, when this
        reader has them; in pure Python for shorter texts (where a few dozen numpy calls
        cost more than they save), with cues (``explain``), and for weights the arrays
        cannot hold exactly. Both give what the original reader gave, bit for bit."""
        flat = flat[:MAX_CHARS]
        arrays = self.arrays
        if cues or arrays is None or len(flat) < ARRAYS_FROM:
            return self._read_python(flat, cues)
        return self._read_arrays(arrays, flat)

    def _read_arrays(self, arrays: ReaderArrays, flat: str) -> Reading:
        """The features as integer keys, a cuckoo table lookup, two exact integer sums."""
        count, crit, high = arrays.sums(flat, length_bucket(flat.count(" ") + 1 if flat else 0))
        scale = 1.0 / math.sqrt(count)
        return self._reading(crit * scale + self.bias[0], high * scale + self.bias[1], ())

    def _read_python(self, flat: str, cues: int) -> Reading:
        """The features as Python sets, one dictionary lookup per feature, two ``fsum``."""
        words = flat.split(" ") if flat else []
        terms: set[Term] = set(words)
        terms.update(pairwise(words))
        if SKIP_PAIRS:
            terms.update((a, SKIP, b) for a, b in zip(words, words[2:], strict=False))
        runs = _runs(f" {flat} ")
        scale = 1.0 / math.sqrt(len(terms) + len(runs) + 1)  # + 1: the length bucket
        # the places of the known features (an unknown one gets None, which filter drops)
        places = list(filter(None, map(self.terms.get, terms)))
        places += filter(None, map(self.runs.get, runs))
        # the length bucket's place (0, weighing 0.0, if unknown), and a 0 so that there are
        # always two places or more: itemgetter then gives a tuple
        places += (self.lengths.get(length_bucket(len(words)), 0), 0)
        pick = itemgetter(*places)
        # fsum: exact, so the sum depends neither on the sets' (per-process) iteration order
        # nor on a 0.0 added
        crit = math.fsum(pick(self.critical_weights)) * scale + self.bias[0]
        high = math.fsum(pick(self.high_weights)) * scale + self.bias[1]
        return self._reading(crit, high, self._cues(terms, cues) if cues else ())

    def _reading(self, crit: float, high: float, cues: tuple[str, ...]) -> Reading:
        p_critical, p_high = _sigmoid(crit), _sigmoid(high)
        suggests: Urgency | None = None
        if p_critical >= self.critical_threshold:
            suggests = Urgency.CRITICAL
        elif p_high >= self.high_threshold:
            suggests = Urgency.HIGH
        return Reading(self.version, p_critical, p_high, suggests, cues)

    def _cues(self, terms: set[Term], cues: int) -> tuple[str, ...]:
        """The known words and neighbouring pairs that pushed P(critical) up most (character runs
        and pairs one apart say little to a reader of ``explain``)."""
        hits = sorted(((self.critical_weights[self.terms[t]], t if isinstance(t, str) else " ".join(t))
                       for t in terms if t in self.terms and (isinstance(t, str) or len(t) == 2)),
                      key=lambda h: (-h[0], h[1]))
        return tuple(feature for weight, feature in hits[:cues] if weight > 0)


def _runs(padded: str) -> set[bytes]:
    """Every run of ``CHAR_SIZES`` characters of ``padded``, as its UTF-32 bytes (``_run_key``).

    The runs of n characters that start at k, k + n, k + 2n, ... are the consecutive
    4n-byte pieces of the UTF-32 text from byte 4k: one ``struct.unpack`` (C) cuts them
    all, where slicing the string builds each in Python; the bytes keep their hash."""
    data = padded.encode("utf-32-le", "surrogatepass")
    size = len(padded)
    runs: set[bytes] = set()
    for n in CHAR_SIZES:
        width = 4 * n
        for start in range(n):
            count = (size - start) // n
            if count > 0:
                runs.update(struct.unpack(f"{width}s" * count, data[4 * start : 4 * start + width * count]))
    return runs


def _run_key(run: str) -> bytes:
    """How a run of characters is keyed: its UTF-32 bytes (one key per text, whatever the
    characters, lone surrogates included; runs of different lengths never meet)."""
    return run.encode("utf-32-le", "surrogatepass")


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _places(names: list[str]) -> tuple[dict[Term, int], dict[bytes, int], dict[str, int]]:
    """Each feature's place in the weight lists, from 1 (place 0 weighs 0.0), by table:
    words and pairs, runs of characters (``_run_key``), length buckets. A name listed twice
    keeps its last place, as the original dictionaries kept its last weights. Raises
    ValueError for a name this reader does not read."""
    terms: dict[Term, int] = {}
    runs: dict[bytes, int] = {}
    lengths: dict[str, int] = {}
    for place, name in enumerate(names, start=1):
        kind, body = name[:2], name[2:]
        if kind == "c:" and len(body) in CHAR_SIZES:
            runs[_run_key(body)] = place
        elif kind == "w:" and " " not in body:
            terms[body] = place
        elif kind == "b:" and body.count(" ") == 1:
            first, second = body.split(" ")
            terms[first, second] = place
        elif kind == "s:" and body.count(" ") == 1:
            first, second = body.split(" ")
            terms[first, SKIP, second] = place
        elif kind == "n:":
            lengths[body] = place
        else:
            raise ValueError(f"a feature this reader does not read: {name[:40]!r}")
    return terms, runs, lengths


def default_reader_path() -> Path:
    """The weights shipped with the package."""
    return Path(__file__).with_name("reader_weights.json")


def reader_version(payload: dict[str, object]) -> str:
    """The version of a weights document: a hash of everything but the version itself."""
    body = {key: value for key, value in payload.items() if key != "version"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "rd-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


_LOADED: dict[bytes, Reader] = {}
"""Readers already loaded and checked in this process, by the SHA-256 of their file's bytes."""


def load_reader(path: Path | None = None) -> Reader:
    """Load and check a weights file (default: the shipped one). Raises ReaderError.

    Parsing and checking the version take some 100 ms; a file whose bytes were already
    loaded in this process gives the same (immutable) reader again without either, and a
    file whose bytes changed is parsed and checked afresh."""
    where = path or default_reader_path()
    try:
        data = where.read_bytes()
        digest = hashlib.sha256(data).digest()
        if digest in _LOADED:
            return _LOADED[digest]
        payload = json.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ReaderError(f"{where.name}: cannot read the reader's weights ({e})") from e
    reader = reader_from_json(payload, source=where.name)
    if len(_LOADED) >= 4:  # a process uses one or two weights files; never grow without bound
        _LOADED.clear()
    return _LOADED.setdefault(digest, reader)


def reader_from_json(payload: object, *, source: str = "<weights>") -> Reader:
    """A reader from a parsed weights document (see ``train/train_reader.py``)."""
    if not isinstance(payload, dict):
        raise ReaderError(f"{source}: the weights must be a JSON object")
    try:
        if payload["format"] != WEIGHTS_FORMAT:
            raise ReaderError(f"{source}: unknown weights format {payload['format']!r}")
        if tuple(payload["char_sizes"]) != CHAR_SIZES or bool(payload.get("skip_pairs")) != SKIP_PAIRS:
            raise ReaderError(f"{source}: trained with other features than this reader reads")
        vocab = payload["vocab"]
        crit, high = payload["critical"]["weights"], payload["high"]["weights"]
        if not (isinstance(vocab, list) and isinstance(crit, list) and isinstance(high, list)
                and len(vocab) == len(crit) == len(high)):
            raise ReaderError(f"{source}: vocab and weights must be lists of one length")
        names = [str(f) for f in vocab]
        terms, runs, lengths = _places(names)
        critical_weights = (0.0, *map(float, crit))
        high_weights = (0.0, *map(float, high))
        reader = Reader(
            version=str(payload["version"]),
            terms=terms,
            runs=runs,
            critical_weights=critical_weights,
            high_weights=high_weights,
            lengths=lengths,
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
    return replace(reader, arrays=build_tables(terms, runs, lengths, critical_weights, high_weights))
