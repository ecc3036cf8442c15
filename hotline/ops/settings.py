"""The ``[ops]`` settings of ``hotline.toml``: retention, backups, health thresholds.

Retention reads like a policy: each *status* says after how long without
activity a tip may go (``never`` keeps it), and each *urgency* may only
lengthen that (``retention_min_critical = "365d"`` keeps even a closed
critical tip a year). Urgency never shortens a period: a forgotten setting
must not delete an open case early.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..settings_base import Setting, bool_, int_, str_
from ..units import parse_duration, parse_size

STATUSES = ("new", "acknowledged", "in_progress", "closed")
URGENCIES = ("low", "normal", "high", "critical")
NEVER = ("never", "")


def period(v: Any) -> float | None:
    """A retention period: a duration (``90d``), or ``never`` (None: kept until deleted by hand)."""
    if isinstance(v, str) and v.strip().lower() in NEVER:
        return None
    seconds = parse_duration(v)
    if seconds <= 0:
        raise ValueError("must be a positive duration (e.g. 90d) or \"never\"")
    return seconds


def minimum(v: Any) -> float:
    """The least time a tip of an urgency is kept; empty for no minimum."""
    if isinstance(v, str) and not v.strip():
        return 0.0
    return parse_duration(v)


_STATUS_DEFAULTS = {"new": "never", "acknowledged": "never", "in_progress": "never",
                    "closed": "90d"}

SETTINGS: tuple[Setting, ...] = (
    *(Setting(f"ops.retention_{s}", f"HOTLINE_RETENTION_{s.upper()}", period,
              _STATUS_DEFAULTS[s],
              f"Delete (crypto-shred) tips with status '{s}' this long after their last "
              "activity; \"never\" keeps them.") for s in STATUSES),
    *(Setting(f"ops.retention_min_{u}", f"HOTLINE_RETENTION_MIN_{u.upper()}", minimum, "",
              f"Keep tips of urgency '{u}' at least this long after their last activity, "
              "whatever their status allows (empty: no minimum).") for u in URGENCIES),
    Setting("ops.retention_hold", "HOTLINE_RETENTION_HOLD", bool_, False,
            "Hold everything: no tip is deleted, by retention or by a reporter's request "
            "(e.g. a legal hold). Per-tip holds: 'hotline retention hold'."),
    Setting("ops.reporter_deletion", "HOTLINE_REPORTER_DELETION", bool_, True,
            "Reporters may ask for their own thread to be deleted (follow-up page, SMS keyword)."),
    Setting("ops.deletion_grace", "HOTLINE_DELETION_GRACE", parse_duration, "72h",
            "How long a reporter's own deletion request waits before the tip is shredded. "
            "Meanwhile the advocates on the tip are paged, one of them may hold it, and any "
            "new message from the reporter cancels it (a phone may be in someone else's hands)."),
    Setting("ops.retention_interval", "HOTLINE_RETENTION_INTERVAL", parse_duration, "10m",
            "How often the service applies retention and reporters' deletion requests."),
    Setting("ops.backup_dir", "HOTLINE_BACKUP_DIR", str_, "backups",
            "Folder (relative to the instance) for automatic pre-migration backups."),
    Setting("ops.host", "HOTLINE_OPS_HOST", str_, "127.0.0.1",
            "Address of the ops listener (/metrics, /readyz), apart from the public one. "
            "Anything but loopback needs ops.metrics_token."),
    Setting("ops.port", "HOTLINE_OPS_PORT", int_, 9180,
            "Port of the ops listener; 0 turns it off. The public listener never serves "
            "/metrics or /readyz."),
    Setting("ops.metrics_token", "HOTLINE_METRICS_TOKEN", str_, "",
            "If set, /metrics and /readyz answer only with 'Authorization: Bearer <token>'. "
            "Required when ops.host is not a loopback address.", secret=True),
    Setting("ops.min_free_disk", "HOTLINE_MIN_FREE_DISK", parse_size, "500MB",
            "Free disk space below which /readyz and 'hotline doctor' report a problem."),
    Setting("secrets.retire_after", "HOTLINE_SECRETS_RETIRE_AFTER", parse_duration, "30d",
            "'hotline rotate-secret DIR --retire N' destroys an old server-secret version only "
            "this long after the rotation that replaced it: threads and receipts used "
            "meanwhile are rewritten to the new version, the rest stop matching."),
)


def check(values: Mapping[str, Any]) -> None:
    """Cross-setting limits of this section; raise ConfigError naming the key."""
    if not 1 <= values["ops.retention_interval"] <= 24 * 3600:
        raise ConfigError("ops.retention_interval: must be between 1s and 24h")
    if not 0 <= values["ops.port"] <= 65535:
        raise ConfigError("ops.port: must be between 0 (off) and 65535")
    if not is_loopback(values["ops.host"]) and not values["ops.metrics_token"]:
        raise ConfigError(
            f"ops.host: {values['ops.host']} is not a loopback address, so /metrics and /readyz "
            "would be open to the network; set ops.metrics_token (HOTLINE_METRICS_TOKEN) too, "
            "or bind to 127.0.0.1")
    if not 1 <= values["ops.deletion_grace"] <= 90 * 86400:
        raise ConfigError("ops.deletion_grace: must be between 1s and 90d")
    if not values["ops.backup_dir"].strip():
        raise ConfigError("ops.backup_dir: must not be empty")


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address; anything else reaches a network."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
