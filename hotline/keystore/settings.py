"""The ``[keystore]`` settings of ``hotline.toml``: how often epoch keys rotate.

A shredded tip's key may linger, wrapped, in the key store's WAL, free space
or backups until the epoch key it was wrapped under is destroyed: at most one
``epoch_rotation`` later (plus the check interval, a tenth of it, at most an
hour). Shorter is safer and costs one re-wrap of every live key per period.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..settings_base import Setting, int_
from ..store.seam import database_setting
from ..units import parse_duration

SETTINGS: tuple[Setting, ...] = (
    Setting("keystore.database", "HOTLINE_KEYSTORE_URL", database_setting, "sqlite",
            "Where the per-tip key store lives: \"sqlite\" (secrets/keystore.db) or, for an "
            "instance on PostgreSQL, a database of its own with a role of its own "
            "(postgresql://user@host:port/database, never the main database; the password "
            "goes in secrets/keystore-url or HOTLINE_KEYSTORE_URL, never here). Excluded from "
            "the main database's backups by being apart."),
    Setting("keystore.epoch_rotation", "HOTLINE_KEYSTORE_EPOCH_ROTATION", parse_duration, "7d",
            "Rotate the key store's epoch key this often: live tip keys are re-wrapped under a "
            "new one and the old one is destroyed, so a shredded tip's key lingering in a WAL "
            "or backup of the key store becomes unopenable (checked by every front end)."),
    Setting("keystore.rotation_batch", "HOTLINE_KEYSTORE_ROTATION_BATCH", int_, 500,
            "Tip keys re-wrapped per transaction during a rotation."),
)


def check(values: Mapping[str, Any]) -> None:
    if not 3600 <= values["keystore.epoch_rotation"] <= 90 * 86400:
        raise ConfigError("keystore.epoch_rotation: must be between 1h and 90d")
    if not 1 <= values["keystore.rotation_batch"] <= 100_000:
        raise ConfigError("keystore.rotation_batch: must be between 1 and 100000")
