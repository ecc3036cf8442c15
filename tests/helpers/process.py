"""The service as a real process: ``hotline serve`` in a subprocess, the CLI as
a subprocess, so tests see exactly what an operator and an advocate see."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.helpers.instance import PASSPHRASE

HOTLINE = [sys.executable, "-m", "hotline.cli.main"]


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_PASSPHRASE"] = PASSPHRASE
    env.update(extra)
    return env


def run_cli(*args: str, input: str | None = None, check: bool = True,
            **env: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*HOTLINE, *args], capture_output=True, text=True, input=input,
                          env=cli_env(**env), timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"hotline {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def cli_json(*args: str, **env: str) -> object:
    return json.loads(run_cli(*args, "--json", **env).stdout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    def __init__(self, root: Path, port: int, env: dict[str, str] | None = None, *,
                 command: list[str] = HOTLINE, cwd: Path | None = None,
                 serve_args: tuple[str, ...] = ()) -> None:
        """``command`` is how to run the CLI (another install's ``hotline``), ``cwd`` where;
        ``serve_args`` go after ``serve DIR --port P`` (e.g. ``--workers 2``)."""
        self.root, self.port, self.extra_env = root, port, env or {}
        self.serve_args = serve_args
        self.command, self.cwd = command, cwd
        self.url = f"http://127.0.0.1:{port}"
        # Each server its own ops listener port, so parallel servers never collide on it.
        self.extra_env.setdefault("HOTLINE_OPS_PORT", str(_free_port()))
        self.ops_url = f"http://127.0.0.1:{self.extra_env['HOTLINE_OPS_PORT']}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> ServerProcess:
        env = cli_env(HOTLINE_PUBLIC_URL=self.url, **self.extra_env)
        # A file, not a pipe: nobody drains a pipe under load, and a full one blocks the server.
        self.stderr_path = self.root.parent / f"server-{self.port}.stderr"
        self._stderr = open(self.stderr_path, "ab")  # closed in stop() / kill9()
        self.proc = subprocess.Popen([*self.command, "serve", str(self.root), "--port", str(self.port),
                                      *self.serve_args],
                                     env=env, stdout=subprocess.DEVNULL, stderr=self._stderr,
                                     cwd=self.cwd)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.stderr_path.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("server did not become healthy")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._stderr.close()

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        return int(self.proc.returncode)
