"""Redaction: only allow-listed metadata reaches a log line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from hotline.logging import configure_logging, get_logger, redact


def test_unlisted_fields_are_dropped_and_named() -> None:
    event = {"event": "x", "tip": "t1", "text": "secret words", "sender": "+15551234567"}
    out = redact(None, "info", event)
    assert out == {"event": "x", "tip": "t1", "redacted": ["sender", "text"]}


def test_exceptions_lose_their_message() -> None:
    try:
        raise ValueError("contains +15551234567 and report words")
    except ValueError:
        out = redact(None, "error", {"event": "boom", "exc_info": True})
    assert out["exception"].startswith("ValueError at test_logging.py:")
    assert "+1555" not in json.dumps(out)


def test_log_file_and_stdlib_bridge(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "h.log"
    configure_logging("json", "info", path)
    get_logger().info("hello", body="SECRET-BODY", channel="web")
    logging.getLogger("aiohttp.server").error("Error handling request from %s", "203.0.113.9")
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[0]["event"] == "hello" and lines[0]["channel"] == "web"
    assert lines[0]["redacted"] == ["body"]
    assert lines[1]["event"] == "Error handling request from %s"
    assert "203.0.113.9" not in path.read_text() and "SECRET-BODY" not in path.read_text()
