"""Real headless Chromium (Debian's package) through Playwright, for the console tests."""

from __future__ import annotations

import io
import math
import shutil
import struct
import wave
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
PHONE = {"width": 390, "height": 844}


def need_chromium() -> str:
    path = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if path is None:
        pytest.fail("Chromium is needed for the console tests: apt-get install -y chromium "
                    "(.ci/run does it)")
    return path


def tone_wav(seconds: float = 0.4, rate: int = 8000) -> bytes:
    """A short real WAV the browser can play: a voicemail stand-in."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                               for i in range(int(seconds * rate))))
    return buf.getvalue()


def files_containing(folder: Path, needles: list[bytes]) -> list[str]:
    """Every file under ``folder`` holding any needle (plain or UTF-16), for leak checks."""
    forms = [n for needle in needles for n in (needle, needle.decode().encode("utf-16-le"))]
    hits = []
    for path in folder.rglob("*"):
        if path.is_file():
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if any(n in data for n in forms):
                hits.append(str(path.relative_to(folder)))
    return hits
