"""The pieces every settings table is made of: a ``Setting`` row and its parsers.

Kept apart from ``config`` so each package (voice, paging, ops) declares its own
section beside its code without importing the loader, and ``config`` gathers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .units import parse_duration


def str_(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("must be a string")
    return v


def int_(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("must be an integer")
    try:
        return int(v)
    except (TypeError, ValueError):
        raise ValueError("must be an integer") from None


def str_list(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return tuple(p.strip() for p in v.split(",") if p.strip())
    if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
        raise ValueError("must be a list of strings")
    return tuple(v)


def bool_(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    text = str_(v).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise ValueError("must be true or false")


def durations(v: Any) -> tuple[float, ...]:
    """A comma-separated list of durations (``10s,1m,5m``): one retry after each."""
    items = str_list(v)
    if not items:
        raise ValueError("must list at least one duration")
    return tuple(parse_duration(i) for i in items)


def url(v: Any) -> str:
    s = str_(v).rstrip("/")
    parts = urlsplit(s)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return s


def choice(*allowed: str) -> Callable[[Any], str]:
    def parse(v: Any) -> str:
        s = str_(v)
        if s not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return s

    return parse


@dataclass(frozen=True)
class Setting:
    key: str  # "section.name" in the TOML file
    env: str
    parse: Callable[[Any], Any]
    default: Any
    help: str
    secret: bool = False
