"""Where every bench's section goes: printed, and (unless the run says not to) appended to
``bench/RESULTS.md`` -- one place, so every bench writes the file the same way."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def publish(section: str, *, append: bool = True) -> None:
    print(section)
    if append:
        with open(RESULTS, "a", encoding="utf-8") as f:
            f.write(section)
