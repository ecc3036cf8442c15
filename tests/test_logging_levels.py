"""Lines below the configured level are dropped where they are made (hotline/logging.py,
``_Logger``); lines at or above it are written, redacted, as before; a new level applies at
once to loggers made before it."""

from __future__ import annotations

import json
from pathlib import Path

from hotline.logging import configure_logging, get_logger


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_level_filters_and_redaction_still_applies(tmp_path: Path) -> None:
    out = tmp_path / "hotline.log"
    log = get_logger("hotline.test")  # made before the level is set: follows it anyway
    configure_logging("json", "warning", out)
    log.debug("dropped.debug", tip="t1")
    log.info("dropped.info", tip="t1")
    log.warning("kept.warning", tip="t1", text="they took my passport")
    log.error("kept.error", tip="t1")
    assert [(e["event"], e["level"]) for e in _lines(out)] == [
        ("kept.warning", "warning"), ("kept.error", "error")]
    assert "passport" not in out.read_text() and _lines(out)[0]["redacted"] == ["text"]
    configure_logging("json", "debug", out)
    log.debug("kept.debug", tip="t2")
    log.info("kept.info", tip="t2")
    assert [e["event"] for e in _lines(out)][-2:] == ["kept.debug", "kept.info"]
    assert log.bind(tip="t3") is not None  # the rest of structlog's logger is still there
