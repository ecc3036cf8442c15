"""Durations and sizes with units, so configs read like sentences and tests
can run an escalation in seconds."""

from __future__ import annotations

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}


def _split(text: str) -> tuple[str, str]:
    stripped = text.strip().lower()
    i = 0
    while i < len(stripped) and (stripped[i].isdigit() or stripped[i] == "."):
        i += 1
    return stripped[:i], stripped[i:].strip()


def parse_duration(value: str | int | float) -> float:
    """Seconds from ``30s``, ``5m``, ``2h``, ``1d``, ``250ms`` or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        number, unit = _split(value)
        if not number or (unit and unit not in _DURATION_UNITS):
            raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 5m, 2h)")
        seconds = float(number) * _DURATION_UNITS[unit or "s"]
    if seconds < 0:
        raise ValueError(f"duration must not be negative: {value!r}")
    return seconds


def parse_size(value: str | int) -> int:
    """Bytes from ``10MB``, ``512KiB`` or a bare number of bytes."""
    if isinstance(value, bool):
        raise ValueError(f"not a size: {value!r}")
    if isinstance(value, int):
        size = value
    else:
        number, unit = _split(value)
        if not number or (unit and unit not in _SIZE_UNITS):
            raise ValueError(f"not a size: {value!r} (use e.g. 512KB, 10MB)")
        size = int(float(number) * _SIZE_UNITS[unit or "b"])
    if size < 0:
        raise ValueError(f"size must not be negative: {value!r}")
    return size
