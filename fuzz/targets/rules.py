"""Fuzz the rule loader: TOML bytes → validated, compiled ``RuleSet``.

The input is one rule file, written to a temporary directory and loaded with
``triage_rules.load_rules`` exactly as ``hotline rules check`` and the
server's reload do.

Contract: a ``RuleSet``, or ``RulesLoadError`` listing the issues (each with
a path, a line within the file or none, and a message); nothing else, not
even for text that no TOML parser expected. Properties of a loaded set: it
evaluates the input's own text and a few fixed texts without raising, and
``explain`` gives the same urgency and score as ``evaluate``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fuzz.harness import fuzz_main, instrumented, require

with instrumented(__name__):
    from triage_rules import RulesLoadError, load_rules

_FILE = Path(tempfile.mkdtemp(prefix="hotline-fuzz-rules-")) / "rules.toml"
TEXTS = ("they took my passport and I cannot leave", "me quitaron el pasaporte, no puedo salir",
         "", "\u0130stanbul \u00df \ufb01 \U0001f198 \u202e", "a" * 300)


def check(data: bytes) -> None:
    _FILE.write_bytes(data)
    try:
        rules = load_rules([_FILE])
    except RulesLoadError as e:
        require(bool(e.issues), "a load error without issues")
        lines = data.count(b"\n") + 1
        for issue in e.issues:
            require(issue.line is None or 1 <= issue.line <= lines, "an issue's line is outside the file")
            require(bool(issue.message), "an issue without a message")
        return
    for text in (*TEXTS, data.decode("utf-8", "replace")):
        decision = rules.evaluate(text)
        explained = rules.explain(text)
        require((explained.decision.urgency, explained.decision.score) == (decision.urgency, decision.score),
                "explain and evaluate disagree")


if __name__ == "__main__":
    fuzz_main(check)
