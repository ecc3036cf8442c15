"""docs/voice.md stays honest: every [voice] setting and every voice URL is in it."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from hotline.voice.routes import add_routes
from hotline.voice.settings import PROMPT_NAMES, SETTINGS

DOC = (Path(__file__).parents[2] / "docs" / "voice.md").read_text(encoding="utf-8")


def test_every_voice_setting_is_documented() -> None:
    for s in SETTINGS:
        name = s.key.removeprefix("voice.")
        prompt = name.rsplit("_", 1)[0]
        if prompt in PROMPT_NAMES:
            assert f"`{prompt}`" in DOC and "voice.<prompt>_<lang>" in DOC, s.key
        elif name.startswith("tts_language_"):
            assert "voice.tts_language_<lang>" in DOC, s.key
        else:
            assert f"`{s.key}`" in DOC and s.env in DOC, s.key


def test_every_voice_url_is_documented() -> None:
    app = web.Application()
    add_routes(app)
    paths = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    assert len(paths) == 8
    for path in paths:
        assert f"`{path}`" in DOC or f"+ `{path}`" in DOC or path in DOC, path
