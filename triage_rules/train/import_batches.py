"""Turn a writer's batch files into one labelled corpus file of the project's format.

Run (from the repository root):

    .venv/bin/python -m triage_rules.train.import_batches BATCH_DIR tests/data/triage_train3a.jsonl

A batch file (``batchNN.jsonl``, complete when it appears) holds one JSON object a line
with ``id``, ``lang``, ``channel``, ``urgency``, ``class``, ``hard_negative`` and
``text``. The output keeps them in the corpus format (``corpus.py``), the class and id
in ``note`` (``class:debt-bondage t3a-041``), batches in name order. ``FIXES`` holds
the labels changed on review, each with the definition it rests on; a fixed line's
note ends ``relabelled``, so the original label is never silently lost.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..corpus import parse_corpus

FIXES: dict[str, tuple[str, str]] = {}
"""Message id → (urgency it is given, the reason from the definitions)."""


def convert(row: dict[str, object]) -> dict[str, object]:
    ident = str(row["id"])
    urgency = str(row["urgency"])
    note = f"class:{row['class']} {ident}"
    if ident in FIXES:
        urgency = FIXES[ident][0]
        note += f" relabelled from {row['urgency']}"
    return {"text": row["text"], "urgency": urgency, "lang": row["lang"], "channel": row["channel"],
            "hard_negative": bool(row["hard_negative"]), "note": note}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("batches", type=Path, help="the folder of batchNN.jsonl files")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    lines: list[str] = []
    seen: set[str] = set()
    for batch in sorted(args.batches.glob("batch*.jsonl")):
        for raw in batch.read_text(encoding="utf-8").splitlines():
            if not raw.strip():
                continue
            row = json.loads(raw)
            if row["text"] in seen:
                continue
            seen.add(row["text"])
            lines.append(json.dumps(convert(row), ensure_ascii=False))
    parse_corpus(lines, str(args.out))  # the corpus checks (raises CorpusError)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{args.out.name}: {len(lines)} messages", file=sys.stderr)


if __name__ == "__main__":
    main()
