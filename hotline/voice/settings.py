"""The [voice] settings of ``hotline.toml``, declared beside the code that uses them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..settings_base import Setting

SETTINGS: tuple[Setting, ...] = ()


def check(values: Mapping[str, Any]) -> None:
    """Cross-setting limits of this section; raise ConfigError naming the key."""
