"""The ``[paging]`` section of ``hotline.toml``: when a message pages, how, and how hard.

Who is on call and the escalation levels are not here: administrators change
them often, from the CLI, while the service runs, so they live in the database
(``hotline oncall rotation|override|escalation``). What is here changes rarely
and is tied to the deployment: the daytime window, retry pacing, SMTP, the
webhook signing secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from triage_rules import Urgency

from ..errors import ConfigError
from ..settings_base import Setting, bool_, durations, int_, str_, str_list
from ..units import parse_duration
from .escalation import EscalationError, paging_policy_from_dict


def _urgencies(v: Any) -> tuple[str, ...]:
    items = str_list(v)
    for item in items:
        Urgency.parse(item)
    return items


SETTINGS: tuple[Setting, ...] = (
    Setting("paging.page_at", "HOTLINE_PAGE_AT", Urgency.parse, "high",
            "Lowest urgency that pages the on-call advocate."),
    Setting("paging.daytime_only", "HOTLINE_PAGING_DAYTIME_ONLY", _urgencies, (),
            "Urgencies that page only between day_start and day_end (e.g. [\"high\"]); "
            "at night they wait for the morning. Critical should never be here."),
    Setting("paging.day_start", "HOTLINE_PAGING_DAY_START", str_, "08:00",
            "Start of the paging day, local to paging.timezone."),
    Setting("paging.day_end", "HOTLINE_PAGING_DAY_END", str_, "20:00",
            "End of the paging day, local to paging.timezone."),
    Setting("paging.timezone", "HOTLINE_PAGING_TIMEZONE", str_, "UTC",
            "IANA time zone of the paging day (e.g. America/New_York)."),
    Setting("paging.default_delay", "HOTLINE_PAGING_DEFAULT_DELAY", parse_duration, "5m",
            "Wait before the next level when no escalation policy is set."),
    Setting("paging.coalesce_window", "HOTLINE_PAGING_COALESCE_WINDOW", parse_duration, "45s",
            "Per person: after a page goes out, later pages within this window are held and sent "
            "together as one summary page when it closes (no page waits longer). 0s turns it off."),
    Setting("paging.retry_backoff", "HOTLINE_PAGING_RETRY_BACKOFF", durations, "2s,10s,30s",
            "Waits between retries of one failing notifier; after the last, the next notifier."),
    Setting("paging.send_timeout", "HOTLINE_PAGING_SEND_TIMEOUT", parse_duration, "10s",
            "Longest wait for one notification to be accepted."),
    Setting("paging.webhook_secret", "HOTLINE_PAGING_WEBHOOK_SECRET", str_, "",
            "Key for the HMAC-SHA256 signature on webhook pages (X-Hotline-Signature).",
            secret=True),
    Setting("paging.smtp_host", "HOTLINE_PAGING_SMTP_HOST", str_, "",
            "SMTP server for e-mail pages; empty turns e-mail pages off."),
    Setting("paging.smtp_port", "HOTLINE_PAGING_SMTP_PORT", int_, 587, "SMTP port."),
    Setting("paging.smtp_starttls", "HOTLINE_PAGING_SMTP_STARTTLS", bool_, True,
            "Require STARTTLS on the SMTP connection."),
    Setting("paging.smtp_user", "HOTLINE_PAGING_SMTP_USER", str_, "", "SMTP user name."),
    Setting("paging.smtp_password", "HOTLINE_PAGING_SMTP_PASSWORD", str_, "",
            "SMTP password.", secret=True),
    Setting("paging.smtp_from", "HOTLINE_PAGING_SMTP_FROM", str_, "hotline@localhost",
            "Sender address of e-mail pages."),
)


def check(values: Mapping[str, Any]) -> None:
    """The daytime window must make sense as a whole; say which key is wrong."""
    try:
        paging_policy_from_dict(policy_table(values))
    except EscalationError as e:
        raise ConfigError(f"{e.key}: {e.problem}") from None
    if not 0 <= values["paging.coalesce_window"] <= 3600:
        raise ConfigError("paging.coalesce_window: must be from 0s (off) to 1h; it is how long a "
                          "held page may wait")
    if values["paging.send_timeout"] <= 0 or values["paging.send_timeout"] > 60:
        raise ConfigError("paging.send_timeout: must be more than 0s and at most 60s")
    if not 0 < values["paging.smtp_port"] < 65536:
        raise ConfigError("paging.smtp_port: must be a TCP port")


def policy_table(values: Mapping[str, Any]) -> dict[str, object]:
    return {"page_at": values["paging.page_at"].value, "daytime_only": list(values["paging.daytime_only"]),
            "day_start": values["paging.day_start"], "day_end": values["paging.day_end"],
            "timezone": values["paging.timezone"]}
