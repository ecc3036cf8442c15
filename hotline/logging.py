"""structlog set-up with redaction that keeps report content out of logs.

The last processor before rendering drops every field that is not on an
allow-list of metadata names, so a future ``log.info("x", text=...)`` cannot
leak a report: the value never reaches a file. Exceptions are rendered as
type and frame locations only — an exception message might quote input.
Records from the standard library (aiohttp, asyncio) keep only their message
template, never its arguments: aiohttp's arguments include client addresses.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog

ALLOWED_FIELDS = frozenset({
    "event", "level", "timestamp", "logger",
    "tip", "tip_ref", "message_id", "channel", "urgency", "status", "direction",
    "ruleset_version", "reader_version", "rules", "version", "count", "batch", "duration_ms", "elapsed_ms",
    "error", "reason", "route", "method", "status_code", "advocate", "role", "action",
    "host", "port", "url", "instance", "attachments", "size", "duplicate", "new_tip",
    "exception", "redacted", "migration", "path", "stage", "pid",
    "auto_reply", "pending", "keyword", "stored", "kind", "attempts",
    "page", "notifier", "escalation", "outbox", "via", "sent", "people",
    "worker", "workers", "exit_code", "restart_in", "restarts",
})


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Drop every non-allow-listed field; name what was dropped so it can be fixed."""
    dropped = sorted(k for k in event if k not in ALLOWED_FIELDS and k != "exc_info")
    for key in dropped:
        del event[key]
    if dropped:
        event["redacted"] = dropped
    exc = event.pop("exc_info", None)
    if exc:
        event["exception"] = _exception_outline(exc)
    return event


def _exception_outline(exc_info: Any) -> str:
    """``TypeName at file:line <- file:line`` with no message text."""
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if not isinstance(exc_info, tuple) or exc_info[0] is None:
        return "unknown"
    frames = traceback.extract_tb(exc_info[2])[-4:]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))
    return f"{exc_info[0].__name__} at {where}" if where else exc_info[0].__name__


class _TeeLogger:
    """Writes each rendered line to stderr and, if configured, a log file."""

    def __init__(self, streams: list[TextIO]) -> None:
        self._streams = streams

    def msg(self, message: str) -> None:
        for s in self._streams:
            s.write(message + "\n")
            s.flush()

    log = debug = info = warning = error = critical = exception = msg


class _StdlibBridge(logging.Handler):
    """Forwards stdlib records as structlog events, template only (no args)."""

    def emit(self, record: logging.LogRecord) -> None:
        log = structlog.get_logger(record.name)
        template = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
        fields: dict[str, Any] = {"logger": record.name}
        if record.exc_info:
            fields["exc_info"] = record.exc_info
        log.log(record.levelno, template, **fields)


_open_files: list[TextIO] = []


def configure_logging(fmt: str = "console", level: str = "info", file: Path | None = None,
                      bind: Mapping[str, Any] | None = None) -> None:
    """``bind``: fields every line of this process carries (a worker's index)."""
    for f in _open_files:
        f.close()
    _open_files.clear()
    streams: list[TextIO] = [sys.stderr]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        fh = open(file, "a", encoding="utf-8")
        _open_files.append(fh)
        streams.append(fh)
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    fixed = dict(bind or {})

    def add_fixed(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in fixed.items():
            event.setdefault(key, value)
        return event

    _THRESHOLD[0] = getattr(logging, level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_fixed,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=lambda *_: _TeeLogger(streams),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    root.handlers = [_StdlibBridge()]
    root.setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").disabled = True


_THRESHOLD = [logging.NOTSET]
"""The level ``configure_logging`` set: lines below it are dropped where they are made."""


class _Logger:
    """structlog's logger for ``name``, except that a ``debug``/``info``/``warning`` line below
    the configured level costs one comparison.

    structlog's lazy proxy builds a bound logger (factory, wrapper, context) for every call,
    ~5 µs, and only then finds that the line is filtered out: on the event loop that was paid
    for the ``intake.stored`` line of every report at ``log_level = "warning"``. Lines at or
    above the level, and everything else (``error``, ``log``, ``bind`` ...), go to structlog
    exactly as before, so redaction (``redact``) sees every line that is written.
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def debug(self, event: str, **fields: Any) -> Any:
        if _THRESHOLD[0] <= logging.DEBUG:
            return structlog.get_logger(self._name).debug(event, **fields)
        return None

    def info(self, event: str, **fields: Any) -> Any:
        if _THRESHOLD[0] <= logging.INFO:
            return structlog.get_logger(self._name).info(event, **fields)
        return None

    def warning(self, event: str, **fields: Any) -> Any:
        if _THRESHOLD[0] <= logging.WARNING:
            return structlog.get_logger(self._name).warning(event, **fields)
        return None

    def __getattr__(self, method: str) -> Any:
        return getattr(structlog.get_logger(self._name), method)


def get_logger(name: str = "hotline") -> Any:
    return _Logger(name)
