"""``fuzz/run``: run one fuzz target, or all, under atheris/libFuzzer.

Each target runs in its own process (``python -m fuzz.targets.NAME``) over two
corpus directories: ``fuzz/.work/NAME/`` first (where libFuzzer writes the
inputs it finds; not committed) and the committed seeds ``fuzz/corpus/NAME/``.
A crashing input is written to ``fuzz/crashes/NAME/`` (``--crashes`` moves
that), and the run exits non-zero. ``--replay`` needs no atheris: it feeds the
seeds and saved crashes once through the target's ``check``.

The summary line per target repeats libFuzzer's own final figures (``cov:``,
``ft:``, corpus size, executions, exec/s) for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import time
from pathlib import Path

FUZZ_DIR = Path(__file__).resolve().parent
TARGETS = ("multipart", "forms", "ivr", "rules", "envelope", "keyfiles", "receipts")
_DONE_RE = re.compile(rb"#(\d+)\s+DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+) .*?exec/s: (\d+)")
_PULSE_RE = re.compile(rb"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)")


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fuzz/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", choices=TARGETS, help="the target to run")
    parser.add_argument("--all", action="store_true", help="run every target, one after another")
    parser.add_argument("--seconds", type=int, default=10, help="time per target (default 10)")
    parser.add_argument("--runs", type=int, default=None, help="stop each target after this many inputs")
    parser.add_argument("--crashes", type=Path, default=FUZZ_DIR / "crashes",
                        help="where crashing inputs go, one folder per target")
    parser.add_argument("--work", type=Path, default=FUZZ_DIR / ".work",
                        help="where new corpus inputs go, one folder per target")
    parser.add_argument("--replay", action="store_true",
                        help="no fuzzing: feed the seed corpus and saved crashes through the target once")
    parser.add_argument("--log", type=Path, default=None, help="also write libFuzzer's output here")
    args = parser.parse_args(argv)
    if args.all == (args.target is not None):
        parser.error("name one target, or --all")
    return args


def _replay(name: str, crashes: Path) -> int:
    module = importlib.import_module(f"fuzz.targets.{name}")
    failures = 0
    files = sorted((FUZZ_DIR / "corpus" / name).glob("*")) + sorted((crashes / name).glob("*"))
    for file in files:
        try:
            module.check(file.read_bytes())
        except Exception as e:
            failures += 1
            print(f"{name}: {file}: {type(e).__name__}: {e}", file=sys.stderr)
    print(f"{name}: replayed {len(files)} inputs, {failures} failing")
    return 1 if failures else 0


def _fuzz(name: str, args: argparse.Namespace) -> int:
    work = args.work / name
    crashes = args.crashes / name
    work.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", f"fuzz.targets.{name}", str(work), str(FUZZ_DIR / "corpus" / name),
        f"-max_total_time={args.seconds}", f"-artifact_prefix={crashes}/",
        "-print_final_stats=1", "-timeout=30", "-rss_limit_mb=2048", "-max_len=65536",
    ]
    if args.runs is not None:
        command.append(f"-runs={args.runs}")
    started = time.monotonic()
    done = subprocess.run(command, cwd=FUZZ_DIR.parent, capture_output=True, check=False)  # noqa: S603
    output = done.stderr + done.stdout
    if args.log is not None:
        with args.log.open("ab") as log:
            log.write(output)
    elapsed = time.monotonic() - started
    print(_summary(name, output, done.returncode, elapsed))
    if done.returncode != 0:
        sys.stderr.write(output[-6000:].decode("utf-8", "replace"))
    return done.returncode


def _summary(name: str, output: bytes, returncode: int, elapsed: float) -> str:
    stats = dict(re.findall(rb"stat::(\w+):\s+(\d+)", output))
    execs = stats.get(b"number_of_executed_units", b"?").decode()
    rate = stats.get(b"average_exec_per_sec", b"?").decode()
    last = _DONE_RE.findall(output) or _PULSE_RE.findall(output)
    if last:
        cov, ft, corp, size = (x.decode() for x in last[-1][1:5])
        figures = f"cov: {cov} ft: {ft} corp: {corp}/{size}"
    else:
        figures = "cov: ? ft: ?"
    outcome = "ok" if returncode == 0 else f"FAILED (exit {returncode})"
    return f"{name}: {outcome} in {elapsed:.0f}s; executions: {execs}; exec/s: {rate}; {figures}"


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    targets = TARGETS if args.all else (args.target,)
    status = 0
    for name in targets:
        code = _replay(name, args.crashes) if args.replay else _fuzz(name, args)
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main())
