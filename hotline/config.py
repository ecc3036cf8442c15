"""Typed settings from the instance's TOML file and the environment.

One table (``SETTINGS``) names every setting once: its TOML key, the
environment variable that overrides it, its type, default and help. The CLI,
the docs test and ``Config`` are all fed from it, so a setting cannot exist
undocumented. Every secret may also come from ``<VAR>_FILE``.
Validated once at start: a bad value stops the service with the file and key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import front_end as cluster_settings
from .errors import ConfigError
from .keystore import settings as keystore_settings
from .ops import settings as ops_settings
from .paging import settings as paging_settings
from .settings_base import Setting, choice, durations, int_, str_, str_list, url
from .settings_base import bool_ as _bool
from .store.seam import database_setting
from .twilio.texts import auto_reply_problem
from .units import parse_duration, parse_size
from .voice import settings as voice_settings

CONFIG_FILENAME = "hotline.toml"


def _auto_reply(v: Any) -> str:
    """An operator's auto-reply text: empty (built-in) or neutral, with the emergency number."""
    text = str_(v).strip()
    problem = auto_reply_problem(text) if text else None
    if problem is not None:
        raise ValueError(problem)
    return text


def _origins(v: Any) -> tuple[str, ...]:
    """``scheme://host[:port]`` each (what a browser calls ``location.origin``), lower case."""
    out = []
    for item in str_list(v):
        origin = url(item).rstrip("/").lower()
        if origin.count("/") != 2:
            raise ValueError(f"{item!r} is not an origin: give scheme://host[:port], no path")
        out.append(origin)
    return tuple(out)


def _workers(v: Any) -> int | str:
    """A whole number of worker processes from 1 to 64, or ``auto`` (one per core)."""
    if isinstance(v, str) and v.strip().lower() == "auto":
        return "auto"
    n = int_(v)
    if not 1 <= n <= MAX_WORKERS:
        raise ValueError(f"must be a whole number from 1 to {MAX_WORKERS}, or auto")
    return n


MAX_WORKERS = 64

_CORE: tuple[Setting, ...] = (
    Setting("service.public_url", "HOTLINE_PUBLIC_URL", url, "http://127.0.0.1:8080",
            "URL the public reaches the service at; Twilio signatures are checked against it."),
    Setting("service.extra_origins", "HOTLINE_EXTRA_ORIGINS", _origins, (),
            "Other addresses advocates sign in at, besides the public URL (e.g. the onion "
            "address, or http://localhost:8080 for a local instance): scheme://host[:port] each."),
    Setting("service.host", "HOTLINE_HOST", str_, "127.0.0.1", "Address to listen on."),
    Setting("service.port", "HOTLINE_PORT", int_, 8080, "Port to listen on."),
    Setting("service.workers", "HOTLINE_WORKERS", _workers, 1,
            "Service processes on this machine sharing the port (hotline serve --workers): "
            "a number, or auto for one per core. More than 1 runs a supervisor that restarts "
            "a worker that dies (docs/scale.md)."),
    Setting("service.log_format", "HOTLINE_LOG_FORMAT", choice("console", "json"), "console",
            "Log rendering: readable 'console' or 'json' for production."),
    Setting("service.log_level", "HOTLINE_LOG_LEVEL", choice("debug", "info", "warning", "error"),
            "info", "Lowest level logged."),
    Setting("service.log_file", "HOTLINE_LOG_FILE", str_, "logs/hotline.log",
            "Log file, relative to the instance folder; empty for stderr only."),
    Setting("organisation.name", "HOTLINE_ORG_NAME", str_, "Demo Organisation",
            "Organisation name shown to reporters."),
    Setting("organisation.site_title", "HOTLINE_SITE_TITLE", str_, "Community Help Line",
            "Neutral page title (what a browser tab or history shows)."),
    Setting("organisation.emergency_number", "HOTLINE_EMERGENCY_NUMBER", str_, "911",
            "Emergency number shown on every page."),
    Setting("organisation.quick_exit_url", "HOTLINE_QUICK_EXIT_URL", url,
            "https://www.wikipedia.org", "Where 'leave this site quickly' goes."),
    Setting("web.max_message_chars", "HOTLINE_WEB_MAX_MESSAGE_CHARS", int_, 20000,
            "Longest web message, in characters."),
    Setting("web.max_attachments", "HOTLINE_WEB_MAX_ATTACHMENTS", int_, 3,
            "Most files per web submission."),
    Setting("web.max_attachment_size", "HOTLINE_WEB_MAX_ATTACHMENT_SIZE", parse_size, "10MB",
            "Largest single attachment (e.g. 10MB)."),
    Setting("web.receipt_failures_per_minute", "HOTLINE_WEB_RECEIPT_FAILURES_PER_MINUTE", int_,
            60, "Wrong receipts accepted per minute, globally (no per-address state)."),
    Setting("web.csrf_max_age", "HOTLINE_WEB_CSRF_MAX_AGE", parse_duration, "2h",
            "How long a form stays valid."),
    Setting("web.form_min_age", "HOTLINE_WEB_FORM_MIN_AGE", parse_duration, "2s",
            "Youngest a form may be when posted; a faster post waits out the rest (flood check)."),
    Setting("web.resubmit_window", "HOTLINE_WEB_RESUBMIT_WINDOW", parse_duration, "10m",
            "How long a report form sent twice can show its receipt again (then: 'already sent')."),
    Setting("web.followup_session", "HOTLINE_WEB_FOLLOWUP_SESSION", parse_duration, "10m",
            "How long an opened conversation stays open before the receipt is asked for again."),
    Setting("rules.paths", "HOTLINE_RULES_PATHS", str_list, ("rules",),
            "Rule files or folders, relative to the instance folder."),
    Setting("rules.reader", "HOTLINE_RULES_READER", _bool, True,
            "The second reader (a classifier shipped with triage_rules) may raise the rules'"
            " urgency, never lower it; false: the rules alone decide."),
    Setting("api.token_ttl", "HOTLINE_API_TOKEN_TTL", parse_duration, "15m",
            "Lifetime of an advocate API token (at most 15m)."),
    Setting("api.challenge_ttl", "HOTLINE_API_CHALLENGE_TTL", parse_duration, "60s",
            "Lifetime of a login challenge (at most 60s)."),
    Setting("store.batch_max", "HOTLINE_STORE_BATCH_MAX", int_, 256,
            "Most writes committed together by the single writer."),
    Setting("store.database", "HOTLINE_DATABASE_URL", database_setting, "sqlite",
            "Which database: \"sqlite\" (hotline.db in this folder) or a PostgreSQL URL "
            "postgresql://user@host:port/name WITHOUT its password (the whole URL goes in "
            "secrets/database-url or the environment variable)."),
    Setting("twilio.account_sid", "HOTLINE_TWILIO_ACCOUNT_SID", str_, "",
            "Twilio account SID; Twilio channels are off without it."),
    Setting("twilio.auth_token", "HOTLINE_TWILIO_AUTH_TOKEN", str_, "",
            "Twilio auth token.", secret=True),
    Setting("twilio.number", "HOTLINE_TWILIO_NUMBER", str_, "",
            "The hotline's own number (sender of replies and pages)."),
    Setting("twilio.api_base", "HOTLINE_TWILIO_API_BASE", url, "https://api.twilio.com",
            "Twilio REST base URL; tests point it at a local stand-in."),
    Setting("twilio.timeout", "HOTLINE_TWILIO_TIMEOUT", parse_duration, "8s",
            "Longest wait for one Twilio REST call or media download (webhooks must answer in 15s)."),
    Setting("twilio.retry_backoff", "HOTLINE_TWILIO_RETRY_BACKOFF", durations,
            "10s,1m,5m,30m,2h", "Waits between retries of failed Twilio work (media fetches, "
            "deletions, reply sends); one retry per entry, then it is marked failed."),
    Setting("twilio.delete_media", "HOTLINE_TWILIO_DELETE_MEDIA", _bool, True,
            "Delete MMS/WhatsApp media at Twilio once it is stored here."),
    Setting("twilio.delete_messages", "HOTLINE_TWILIO_DELETE_MESSAGES", _bool, False,
            "Also delete each inbound message record (text, number) at Twilio once stored."),
    Setting("sms.auto_reply", "HOTLINE_SMS_AUTO_REPLY", _bool, True,
            "Answer a texter automatically (once per window) with what happens next."),
    Setting("sms.auto_reply_window", "HOTLINE_SMS_AUTO_REPLY_WINDOW", parse_duration, "24h",
            "A thread gets the automatic reply at most once in this time."),
    Setting("sms.auto_reply_budget", "HOTLINE_SMS_AUTO_REPLY_BUDGET", int_, 30,
            "At most this many automatic replies per minute, all threads together (a flood "
            "from many numbers cannot run up the SMS bill); every message is still stored."),
    Setting("sms.auto_reply_en", "HOTLINE_SMS_AUTO_REPLY_EN", _auto_reply, "",
            "English automatic reply; empty for the built-in text. {emergency} is replaced "
            "by the emergency number. Keep it neutral: it shows in the phone's preview."),
    Setting("sms.auto_reply_es", "HOTLINE_SMS_AUTO_REPLY_ES", _auto_reply, "",
            "Spanish automatic reply; empty for the built-in text."),
    Setting("sms.default_language", "HOTLINE_SMS_DEFAULT_LANGUAGE", choice("en", "es"), "en",
            "Language of the automatic reply when the text does not show one."),
    Setting("sms.max_media", "HOTLINE_SMS_MAX_MEDIA", int_, 10,
            "Most media items taken from one MMS/WhatsApp message."),
    Setting("sms.max_media_size", "HOTLINE_SMS_MAX_MEDIA_SIZE", parse_size, "16MB",
            "Largest media item downloaded from Twilio."),
)

SETTINGS: tuple[Setting, ...] = (
    _CORE + voice_settings.SETTINGS + paging_settings.SETTINGS + ops_settings.SETTINGS
    + keystore_settings.SETTINGS + cluster_settings.SETTINGS
)
"""Every setting; each package's own section is declared (and checked) beside its code."""

SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    """Validated settings of one instance."""

    instance_dir: Path
    values: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def path(self, key: str) -> Path:
        return self.instance_dir / str(self.values[key])

    @property
    def twilio_enabled(self) -> bool:
        return bool(self.values["twilio.account_sid"] and self.values["twilio.auth_token"])

    def rule_paths(self) -> list[Path]:
        return [self.instance_dir / p for p in self.values["rules.paths"]]


def _lookup(data: Mapping[str, Any], key: str) -> Any:
    section, name = key.split(".", 1)
    table = data.get(section, {})
    return table.get(name, _MISSING) if isinstance(table, dict) else _MISSING


_MISSING = object()


def _env_value(setting: Setting, env: Mapping[str, str], source: str) -> Any:
    if setting.env in env:
        return env[setting.env]
    file_var = setting.env + "_FILE"
    if setting.secret and file_var in env:
        try:
            return Path(env[file_var]).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"{file_var}: cannot read {env[file_var]}: {e.strerror}") from None
    return _MISSING


def _check_unknown(data: Mapping[str, Any], path: Path) -> None:
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: '{section}' must be a [table]")
        for name in table:
            if f"{section}.{name}" not in SETTINGS_BY_KEY:
                raise ConfigError(f"{path}: unknown setting '{section}.{name}'")


def load_config(instance_dir: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read ``hotline.toml`` then apply environment overrides; fail with file and key."""
    env = os.environ if env is None else env
    path = instance_dir / CONFIG_FILENAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (is {instance_dir} an instance? run 'hotline init')") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: {e}") from None
    _check_unknown(data, path)
    values: dict[str, Any] = {}
    for s in SETTINGS:
        raw, origin = _env_value(s, env, str(path)), s.env
        if raw is _MISSING:
            raw, origin = _lookup(data, s.key), f"{path}: {s.key}"
        if raw is _MISSING:
            raw, origin = s.default, f"default {s.key}"
        try:
            values[s.key] = s.parse(raw)
        except ValueError as e:
            raise ConfigError(f"{origin}: {e}") from None
    _check_limits(values)
    return Config(instance_dir=instance_dir, values=values)


def _check_limits(values: Mapping[str, Any]) -> None:
    if values["api.token_ttl"] > 15 * 60:
        raise ConfigError("api.token_ttl: must be at most 15m")
    if values["api.challenge_ttl"] > 60:
        raise ConfigError("api.challenge_ttl: must be at most 60s")
    for key in ("web.max_attachments", "web.max_message_chars", "store.batch_max"):
        if values[key] < 0 or (key != "web.max_attachments" and values[key] == 0):
            raise ConfigError(f"{key}: must be positive")
    if not 0 <= values["web.form_min_age"] <= 60:
        raise ConfigError("web.form_min_age: must be between 0s and 60s (the server waits it out)")
    if values["web.form_min_age"] >= values["web.csrf_max_age"]:
        raise ConfigError("web.form_min_age: must be shorter than web.csrf_max_age")
    for key in ("web.resubmit_window", "web.followup_session"):
        if not 0 < values[key] <= 3600:
            raise ConfigError(f"{key}: must be more than 0s and at most 1h")
    if not 0 < values["twilio.timeout"] <= 60:
        raise ConfigError("twilio.timeout: must be more than 0s and at most 60s")
    if not 0 <= values["sms.auto_reply_budget"] <= 100_000:
        raise ConfigError("sms.auto_reply_budget: must be a whole number from 0 (no automatic "
                          "replies) to 100000 per minute")
    if not 0 <= values["sms.max_media"] <= 10:
        raise ConfigError("sms.max_media: must be between 0 and 10 (Twilio's own limit)")
    for section in (voice_settings, paging_settings, ops_settings, keystore_settings,
                    cluster_settings):
        section.check(values)



def render_default_config() -> str:
    """The commented ``hotline.toml`` that ``hotline init`` writes."""
    lines = ["# Hotline instance configuration. Every setting can be overridden by the",
             "# environment variable named beside it; secrets also by <VAR>_FILE.", ""]
    section = None
    for s in SETTINGS:
        sec, name = s.key.split(".", 1)
        if sec != section:
            lines += ["", f"[{sec}]"] if section else [f"[{sec}]"]
            section = sec
        lines.append(f"# {s.help} (env {s.env})")
        default = s.default
        if s.secret or s.key in _UNSET_BY_DEFAULT:
            lines.append(f"# {name} = \"\"")
            continue
        lines.append(f"{name} = {_toml_value(default)}")
    return "\n".join(lines) + "\n"


_UNSET_BY_DEFAULT = frozenset({"twilio.account_sid", "twilio.number"})


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    if isinstance(v, tuple | list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
