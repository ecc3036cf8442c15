"""The README's first hour, as written: its demo command and its "Try every channel" block.

The commands are parsed out of README.md and run in a fresh folder (``.venv`` linked to this
one, as after the README's install), substituting only what the README says to replace
(``TIP_ID``, ``CODE``). The web tip, the follow-up and the console go through real Chromium,
which also takes the screenshots in the docs (into docs/screens/ only when
``HOTLINE_UPDATE_SCREENSHOTS`` is set; otherwise into a temporary folder, so CI checks the
pages render without comparing pixels).
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from playwright.async_api import Page, async_playwright

from tests.console.browser import ARGS, PHONE, need_chromium

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
SCREENS = REPO / "docs" / "screens"
UPDATE_SCREENSHOTS = "HOTLINE_UPDATE_SCREENSHOTS"
DESKTOP = {"width": 1200, "height": 800}
WEB_TIP = "My employer locked me in the house and is hitting me right now, please help"
REPLY_TEXT = "We got your message. Are you safe to text?"


def _sh_blocks(after: str) -> list[str]:
    """The ```sh blocks of README.md that follow the line containing ``after``."""
    text = README.read_text(encoding="utf-8")
    tail = text[text.index(after):]
    return re.findall(r"```sh\n(.*?)```", tail, re.S)


def demo_command() -> list[str]:
    """The last command of the README's first block (the others install)."""
    block = _sh_blocks("**Run a local instance**")[0]
    return shlex.split(block.strip().split("&&")[-1])


def try_lines() -> list[str]:
    block = _sh_blocks("### Try every channel")[0]
    return [line.split("  #")[0].strip() for line in block.splitlines()
            if line.strip() and not line.startswith("#")]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["NO_COLOR"] = "1"
    return env


class Demo:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log = folder / "demo-terminal.txt"
        self._out = self.log.open("w")
        self.proc = subprocess.Popen(demo_command(), cwd=folder, env=_env(), stdout=self._out,
                                     stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, pattern: str, timeout: float = 90) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output())
            if found:
                return found
            if self.proc.poll() is not None:
                raise AssertionError(f"the demo stopped:\n{self.output()}")
            time.sleep(0.2)
        raise AssertionError(f"the demo never showed {pattern!r}:\n{self.output()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._out.close()


def run_line(folder: Path, sources: list[str], line: str) -> str:
    """One README line, in the shell, after the block's ``. file`` lines (its environment)."""
    script = "set -e\n" + "\n".join(sources) + "\n" + line
    proc = subprocess.run(["bash", "-c", script], cwd=folder, env=_env(), capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    return proc.stdout


def _tip_id(inbox: str, channel: str) -> str:
    for row in inbox.splitlines():
        cells = row.split()
        if len(cells) > 2 and cells[2] == channel:
            return cells[0]
    raise AssertionError(f"no {channel} tip in:\n{inbox}")


async def _shot(page: Page, shots: Path, name: str) -> None:
    await page.screenshot(path=str(shots / f"{name}.png"))


async def _web_tip(page: Page, server: str, shots: Path) -> list[str]:
    await page.goto(server + "/?lang=es")
    await page.get_by_role("button").first.wait_for()
    await _shot(page, shots, "report-es-phone")
    await page.goto(server + "/?lang=en")
    await _shot(page, shots, "report-en-phone")
    await page.get_by_label("Your message").fill(WEB_TIP)
    await page.get_by_role("button", name="Send message").click()
    await page.get_by_role("heading", name="Your receipt", exact=True).wait_for()
    return [w.strip() for w in await page.locator("ol.receipt li").all_inner_texts()]


async def _console(page: Page, server: str, key: Path, shots: Path, lang: str) -> None:
    await page.goto(server + "/console")
    if lang == "es":
        await page.get_by_role("button", name="Español").click()
        await page.get_by_label("Archivo de clave (de hotline keygen)").set_input_files(str(key))
        await page.get_by_label("Frase de contraseña", exact=True).fill("demo passphrase")
        await page.get_by_role("button", name="Desbloquear").click()
    else:
        await page.get_by_label("Key file (from hotline keygen)").set_input_files(str(key))
        await page.get_by_label("Passphrase", exact=True).fill("demo passphrase")
        await page.get_by_role("button", name="Unlock").click()
    await page.locator(".tip").first.wait_for()
    assert await page.title() in ("Console", "Consola")  # neutral, like the reporter pages
    await _shot(page, shots, f"console-{lang}-{'desktop' if lang == 'en' else 'phone'}")
    if lang != "en":
        return
    # The paged web tip: the page history in words, and who each key it is sealed to is.
    await page.locator("button.tip.u-critical").filter(has_text="Channel: web").first.click()
    await page.get_by_text("Sealed to").first.click()
    listed = await page.locator("ul.fps").first.inner_text()
    assert "you — " in listed and "the organisation's recovery key — " in listed, listed
    await page.get_by_text("by text message").first.wait_for()
    assert await page.get_by_label("Your reply").count() == 1
    await _shot(page, shots, "console-tip-en-desktop")
    badge = await page.locator(".badge").first.bounding_box()
    assert badge is not None and badge["height"] < 40  # a pill round its word, not the row


async def test_the_readme_first_hour_runs_as_written(tmp_path: Path) -> None:
    chromium = need_chromium()
    shots = SCREENS if os.environ.get(UPDATE_SCREENSHOTS) else tmp_path / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    folder = tmp_path / "fresh-clone"
    folder.mkdir()
    (folder / ".venv").symlink_to(Path(sys.prefix))
    demo = Demo(folder)
    try:
        await asyncio.to_thread(demo.wait_for, r"service\.listening")
        lines = try_lines()
        sources = [ln for ln in lines if ln.startswith(". ")]
        server = (await asyncio.to_thread(run_line, folder, sources, 'echo "$HOTLINE_SERVER"')
                  ).strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server), server
        assert f"{server}/" in demo.output()  # the demo printed the address it serves at

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium, args=ARGS)
            phone = await browser.new_context(viewport=PHONE)
            desktop = await browser.new_context(viewport=DESKTOP)
            words = await _web_tip(await phone.new_page(), server, shots)

            outputs: dict[str, str] = {}
            for line in lines:
                if line.startswith(". ") or line.startswith("echo "):
                    continue
                if "TIP_ID" in line:  # the README: an ID from `inbox`
                    inbox = outputs["inbox"]
                    for channel in ("sms", "web"):
                        run_line(folder, sources, line.replace("TIP_ID", _tip_id(inbox, channel)))
                    continue
                as_run = line
                if "CODE" in line:  # the README: the number in the page the demo shows
                    code = await asyncio.to_thread(demo.wait_for, r"Reply (\d+) to acknowledge")
                    as_run = line.replace("CODE", code.group(1))
                out = await asyncio.to_thread(run_line, folder, sources, as_run)
                outputs.setdefault(line.split()[1], out)
                outputs[line] = out

            sms, whatsapp, voice = [outputs[ln] for ln in lines if " simulate " in ln][:3]
            assert "Reply: Thank you. We got your message." in sms
            assert "Reply: Gracias. Recibimos tu mensaje." in whatsapp
            assert "dialled: caller_id=+15005550006, outcome=no-answer, to=+15005550101" in voice
            assert "fetched=True, deleted_at_twilio=True" in voice
            assert voice.count("Goodbye") == 1
            assert "Reply: Acknowledged tip" in outputs[lines[-1]]
            read = next(o for ln, o in outputs.items() if " read " in ln)
            assert WEB_TIP in read and "They took my passport" in read
            assert any(f.suffix == ".wav" for f in (folder / "voicemail").rglob("*"))
            # What "Twilio" carried, in the demo's terminal: the page and the reply to the texter.
            terminal = demo.output()
            assert "[twilio stand-in] text to +15005550101: Hotline page:" in terminal
            assert f"[twilio stand-in] text to +15551230001: {REPLY_TEXT}" in terminal
            assert "voicemail deleted at Twilio" in terminal

            # The web reporter's follow-up shows the advocate's reply.
            page = await desktop.new_page()
            await page.goto(server + "/")
            await _shot(page, shots, "report-en-desktop")
            await page.goto(server + "/followup")
            await page.get_by_label("Your receipt words").fill(" ".join(words))
            await page.get_by_role("button", name="Show replies").click()
            await page.get_by_text(REPLY_TEXT).wait_for()
            await _shot(page, shots, "followup-en-desktop")
            icon = await page.request.get(server + "/favicon.ico")  # what browsers ask for
            assert icon.status == 204 and "max-age" in icon.headers["cache-control"]

            # The console at another name for the same address: refused, saying what to do.
            key = folder / "demo" / "demo-advocate.key"
            other = server.replace("127.0.0.1", "localhost")
            page = await desktop.new_page()
            await page.goto(other + "/console")
            await page.get_by_label("Key file (from hotline keygen)").set_input_files(str(key))
            await page.get_by_label("Passphrase", exact=True).fill("demo passphrase")
            await page.get_by_role("button", name="Unlock").click()
            await page.get_by_text("service.extra_origins").first.wait_for()
            assert f"open the console at {server}/console" in await page.content()

            await _console(await desktop.new_page(), server, key, shots, "en")
            await _console(await phone.new_page(), server, key, shots, "es")
            await browser.close()
        assert "favicon" not in demo.output()  # no log line for it
        for name in ("report-en-phone", "report-es-phone", "report-en-desktop",
                     "followup-en-desktop", "console-en-desktop", "console-es-phone",
                     "console-tip-en-desktop"):
            assert (shots / f"{name}.png").stat().st_size > 1000
    finally:
        demo.stop()
