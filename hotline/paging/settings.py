"""The ``[paging]`` section of ``hotline.toml``: when a message pages, and how hard."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from triage_rules import Urgency

from ..settings_base import Setting

SETTINGS: tuple[Setting, ...] = (
    Setting("paging.page_at", "HOTLINE_PAGE_AT", Urgency.parse, "high",
            "Lowest urgency that pages the on-call advocate."),
)


def check(values: Mapping[str, Any]) -> None:
    """Cross-setting limits of this section; raise ConfigError naming the key."""
