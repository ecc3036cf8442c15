"""Advocate console: first load on a phone, time to interactive, unlock time.

Run:  .venv/bin/python bench/console_load.py [--runs 3]
Needs Debian's chromium and `npm ci`. Starts a real `hotline serve` on
127.0.0.1, drives headless Chromium (Playwright) at a 390x844 viewport with a
cold profile per run, and appends the numbers to bench/RESULTS.md.

- transferred: every response's encodedDataLength (CDP), first load, cold cache;
- interactive: navigation start -> the key screen is usable (libsodium loaded,
  `performance.mark('console-ready')`);
- unlock: click "Unlock" -> the inbox is shown (Argon2id with the key file's
  parameters, then the signed login and the first inbox fetch).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from playwright.async_api import async_playwright  # noqa: E402
from results_md import publish  # noqa: E402

from crypto import LAPTOP, PHONE, KdfParams, encrypt_identity  # noqa: E402
from tests.console.browser import ARGS, need_chromium  # noqa: E402
from tests.console.browser import PHONE as VIEWPORT  # noqa: E402
from tests.helpers.instance import PASSPHRASE, make_instance  # noqa: E402
from tests.helpers.process import ServerProcess  # noqa: E402


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def one_run(url: str, key_file: Path, profile: Path) -> dict[str, float]:
    async with async_playwright() as p:
        ctx = await p.chromium.launch_persistent_context(
            str(profile), executable_path=need_chromium(), args=ARGS, headless=True,
            viewport=VIEWPORT, locale="en-US")
        page = ctx.pages[0] if ctx.pages else await ctx.new_page()
        cdp = await ctx.new_cdp_session(page)
        await cdp.send("Network.enable")
        sizes: list[float] = []
        cdp.on("Network.loadingFinished", lambda e: sizes.append(e["encodedDataLength"]))
        await page.goto(url + "/console")
        await page.wait_for_function("document.documentElement.dataset.ready === 'true'")
        interactive = await page.evaluate(
            "performance.getEntriesByName('console-ready')[0].startTime")
        await page.get_by_role("button", name="Unlock").wait_for()
        transferred = sum(sizes)
        await page.get_by_label("Key file (from hotline keygen)").set_input_files(str(key_file))
        await page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
        start = await page.evaluate("performance.now()")
        await page.get_by_role("button", name="Unlock").click()
        await page.get_by_role("heading", name="Inbox").wait_for(timeout=60_000)
        unlock = await page.evaluate("performance.now()") - start
        await ctx.close()
    return {"transferred": transferred, "interactive": interactive, "unlock": unlock}


async def bench(runs: int) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        port = free_port()
        inst = make_instance(base, public_url=f"http://127.0.0.1:{port}")
        server = ServerProcess(inst.root, port).start()
        try:
            for label, params in (("phone (t=3, 64 MiB; console default)", PHONE),
                                  ("laptop (t=3, 256 MiB; keygen default)", LAPTOP)):
                key = base / f"alice-{params.memlimit}.key"
                key.write_bytes(encrypt_identity(inst.alice, PASSPHRASE, KdfParams(
                    params.opslimit, params.memlimit)))
                results = [await one_run(server.url, key, base / f"profile-{label[:5]}-{i}")
                           for i in range(runs)]
                out[label] = {k: [r[k] for r in results] for k in results[0]}
        finally:
            server.stop()
    return out


def report(results: dict[str, dict[str, list[float]]], runs: int) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"\n## {when} — advocate console first load and unlock (issue 7)\n",
             f"Command: `.venv/bin/python bench/console_load.py --runs {runs}`",
             f"Machine: {platform.machine()}, {platform.python_implementation()} "
             f"{platform.python_version()}, headless Debian Chromium, 390x844 viewport, "
             "cold profile per run, server on 127.0.0.1 (no network latency).\n",
             "| key parameters | first load transferred | time to interactive | unlock → inbox |",
             "|---|---|---|---|"]
    for label, r in results.items():
        lines.append(f"| {label} | {statistics.median(r['transferred']) / 1024:.0f} KB "
                     f"| {statistics.median(r['interactive']):.0f} ms (max "
                     f"{max(r['interactive']):.0f}) | {statistics.median(r['unlock']):.0f} ms "
                     f"(max {max(r['unlock']):.0f}) |")
    lines.append("\nBars (issue 7): < 300 KB incl. libsodium, < 2 s to interactive, unlock "
                 "< 3 s with default parameters. Medians of the runs.")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    text = report(asyncio.run(bench(args.runs)), args.runs)
    publish(text, append=not args.no_append)


if __name__ == "__main__":
    main()
