"""Configuration: TOML, environment overrides, secrets from files, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import SETTINGS, load_config, render_default_config
from hotline.errors import ConfigError
from hotline.units import parse_duration, parse_size


def _dir(tmp_path: Path, text: str = "") -> Path:
    (tmp_path / "hotline.toml").write_text(text)
    return tmp_path


def test_defaults_file_and_env(tmp_path: Path) -> None:
    root = _dir(tmp_path, '[service]\nport = 9000\n[web]\nmax_attachment_size = "2MB"\n')
    cfg = load_config(root, env={"HOTLINE_PUBLIC_URL": "https://help.example.org/"})
    assert cfg["service.port"] == 9000
    assert cfg["web.max_attachment_size"] == 2_000_000
    assert cfg["service.public_url"] == "https://help.example.org"
    assert cfg["api.token_ttl"] == 900
    assert not cfg.twilio_enabled


def test_secret_from_file(tmp_path: Path) -> None:
    root = _dir(tmp_path)
    (tmp_path / "tok").write_text("s3cret\n")
    cfg = load_config(root, env={"HOTLINE_TWILIO_AUTH_TOKEN_FILE": str(tmp_path / "tok"),
                                 "HOTLINE_TWILIO_ACCOUNT_SID": "AC" + "0" * 32})
    assert cfg["twilio.auth_token"] == "s3cret" and cfg.twilio_enabled


@pytest.mark.parametrize(("text", "env", "message"), [
    ("[service]\nport = 'x'\n", {}, "service.port: must be an integer"),
    ("[service]\nprot = 1\n", {}, "unknown setting 'service.prot'"),
    ("[service\n", {}, "hotline.toml"),
    ("", {"HOTLINE_PUBLIC_URL": "ftp://x"}, "HOTLINE_PUBLIC_URL: must be an http(s) URL"),
    ("", {"HOTLINE_API_TOKEN_TTL": "1h"}, "at most 15m"),
    ("", {"HOTLINE_PAGE_AT": "urgent"}, "HOTLINE_PAGE_AT"),
])
def test_bad_config_names_the_place(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(_dir(tmp_path, text), env=env)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path, env={})


def test_default_config_round_trips_and_documents_every_setting(tmp_path: Path) -> None:
    text = render_default_config()
    cfg = load_config(_dir(tmp_path, text), env={})
    for s in SETTINGS:
        assert s.env in text, f"{s.key} is undocumented"
        if not s.secret and not s.key.startswith("twilio."):
            assert cfg[s.key] == s.parse(s.default)


def test_units() -> None:
    assert parse_duration("30s") == 30 and parse_duration("5m") == 300
    assert parse_duration("2h") == 7200 and parse_duration(7) == 7
    assert parse_size("10MB") == 10_000_000 and parse_size("1KiB") == 1024
    for bad in ("", "5 parsecs", "-1s", "m"):
        with pytest.raises(ValueError):
            parse_duration(bad)
