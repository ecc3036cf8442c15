"""``hotline serve --workers N``: N service processes on one machine, one supervisor.

Every worker listens on the port with its own ``SO_REUSEPORT`` socket, and
the kernel spreads new connections across them by a hash of the connection
(measured: a socket bound once and inherited let one worker take almost
every keep-alive connection, since whichever loop wakes first accepts a
whole burst). The supervisor holds a bound, not listening, socket on the
port from start to stop: it checks the port is free before any worker
starts and keeps it reserved while workers restart (a bound socket that does
not listen receives no connections). When a worker dies, connections waiting
in its own backlog are reset (never acknowledged, so nothing is lost: the
reporter's browser says the page failed) and new ones go to the others.
Each worker is a whole front end (``hotline.server.run_service``: its own
database writer and reader threads, key store, page worker, Twilio jobs and
retention loop); what must be shared between them lives in the database
(docs/scale.md).

The supervisor
* starts the N workers and waits until each says "ready" on its lifeline (a
  socket pair); a worker that fails at start-up stops the whole start with
  its own error, since the next would fail the same way;
* restarts a worker that dies later, after a backoff that grows while it
  keeps dying soon after starting (0.5 s doubling to 30 s) and resets once a
  worker has run for a minute;
* forwards SIGHUP (rule reload) to every worker, and on SIGTERM/SIGINT stops
  them all (each finishes its in-flight requests and commits) and exits 0;
* serves the ops port itself (``hotline.supervisor_ops``), asking every
  worker over its private Unix socket, so ``/readyz`` answers for all of them.

If the supervisor itself is killed, each worker sees its lifeline close and
stops: no worker keeps serving unsupervised.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

from .config import Config
from .errors import InstanceError
from .logging import get_logger
from .supervisor_ops import Slot, start_ops_listener

BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_AFTER = 60.0  # a worker that ran this long and then died starts again at once (0.5 s)
STOP_GRACE = 30.0  # a worker still running this long after SIGTERM is killed
PID_FILE = "hotline.pid"  # the supervisor's pid: `hotline rules reload` signals it


class _Exited:
    """Stands in for a worker process that could not even be started (it "exited" at once)."""

    pid = 0
    returncode = 1

    async def wait(self) -> int:
        return 1

    def send_signal(self, sig: int) -> None:
        pass

    def kill(self) -> None:
        pass


class Supervisor:
    def __init__(self, instance_dir: Path, config: Config, host: str, port: int, count: int, *,
                 backoff: tuple[float, ...] = BACKOFF) -> None:
        self.instance_dir, self.config = instance_dir, config
        self.host, self.port, self.count, self.backoff = host, port, count, backoff
        self.slots = [Slot(i) for i in range(count)]
        self._stop = asyncio.Event()
        self._stopping = False
        self._log = get_logger("hotline.supervisor")

    async def run(self) -> int:
        reserved = self._bind()
        rundir = Path(tempfile.mkdtemp(prefix="hotline-workers-"))  # 0700: only we reach it
        for slot in self.slots:
            slot.ops_socket = rundir / f"worker-{slot.index}.sock"
        ops_runner: web.AppRunner | None = None
        pid_file = self.instance_dir / PID_FILE
        try:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._stop.set)
            loop.add_signal_handler(signal.SIGHUP, self._forward, signal.SIGHUP)
            ops_runner = await start_ops_listener(self.config, self.slots)  # first: "starting"
            failed = await self._start_all()
            if failed is not None:
                index, code = failed
                raise InstanceError(f"worker {index} could not start (exit code {code}); its "
                                    "message is above")
            pid_file.write_text(f"{os.getpid()}\n")
            self._log.info("service.listening", host=self.host, port=self.port, pid=os.getpid(),
                           workers=self.count)
            keepers = [asyncio.create_task(self._keep(s)) for s in self.slots]
            await self._stop.wait()
            self._log.info("service.stopping", workers=self.count)
            await self._stop_all()
            for k in keepers:
                k.cancel()
            await asyncio.gather(*keepers, return_exceptions=True)
            return 0
        finally:
            if not self._stopping:  # a start-up that failed: take down the ones that started
                await self._stop_all()
            if ops_runner is not None:
                await ops_runner.cleanup()
            with contextlib.suppress(OSError, ValueError):
                if int(pid_file.read_text().strip()) == os.getpid():
                    pid_file.unlink()
            reserved.close()
            shutil.rmtree(rundir, ignore_errors=True)

    def _bind(self) -> socket.socket:
        """The port reserved (bound with SO_REUSEPORT, never listening) until the end."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # First without SO_REUSEPORT: a port held by anyone (another Hotline's workers
        # included, whose traffic we would otherwise share) is refused, not joined.
        for reuse_port in (False, True):
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if reuse_port:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind((self.host, self.port))
            except OSError as e:
                sock.close()
                raise InstanceError(f"cannot listen on {self.host}:{self.port} ({e.strerror}): "
                                    "set service.port (HOTLINE_PORT) or --port to a free port"
                                    ) from None
            if not reuse_port:
                sock.close()
        return sock

    async def _start_all(self) -> tuple[int, int] | None:
        """Start every worker at once; the first one that fails to start, if any."""
        codes = await asyncio.gather(*(self._spawn(s) for s in self.slots))
        for slot, code in zip(self.slots, codes, strict=True):
            if code is not None:
                return slot.index, code
        return None

    async def _spawn(self, slot: Slot) -> int | None:
        """Start the worker in ``slot``; None once it serves, else its exit code."""
        parent_end, child_end = socket.socketpair()
        slot.ops_socket.unlink(missing_ok=True)
        fd = child_end.fileno()
        slot.ready, slot.next_start_at = False, None
        try:
            slot.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hotline.worker_main", str(self.instance_dir),
                "--index", str(slot.index), "--host", self.host, "--port", str(self.port),
                "--lifeline-fd", str(fd), "--ops-socket", str(slot.ops_socket), pass_fds=(fd,))
        except BaseException:
            parent_end.close()
            raise
        finally:
            child_end.close()
        parent_end.setblocking(False)
        slot.lifeline = parent_end
        loop = asyncio.get_running_loop()
        said = asyncio.ensure_future(loop.sock_recv(parent_end, 64))
        exited = asyncio.ensure_future(slot.proc.wait())
        await asyncio.wait({said, exited}, return_when=asyncio.FIRST_COMPLETED)
        if said.done() and not said.exception() and said.result().startswith(b"ready"):
            exited.cancel()
            slot.ready, slot.started_at = True, time.monotonic()
            self._log.info("worker.started", worker=slot.index, pid=slot.proc.pid,
                           restarts=slot.restarts)
            return None
        said.cancel()
        return await slot.proc.wait()

    async def _keep(self, slot: Slot) -> None:
        """Restart the worker in ``slot`` whenever it dies, until the service stops."""
        while True:
            assert slot.proc is not None
            code = await slot.proc.wait()
            slot.ready = False
            if slot.lifeline is not None:
                slot.lifeline.close()
                slot.lifeline = None
            if self._stopping:
                return
            if time.monotonic() - slot.started_at >= STABLE_AFTER:
                slot.failures_in_a_row = 0
            delay = self.backoff[min(slot.failures_in_a_row, len(self.backoff) - 1)]
            slot.failures_in_a_row += 1
            slot.restarts += 1
            slot.next_start_at = time.monotonic() + delay
            self._log.error("worker.exited", worker=slot.index, exit_code=code, restart_in=delay,
                            restarts=slot.restarts)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stop.wait()
            if self._stopping or self._stop.is_set():
                return
            try:
                await self._spawn(slot)
            except OSError as e:  # no process could be made (fds, memory): try again later
                self._log.error("worker.not_started", worker=slot.index, error=type(e).__name__)
                slot.started_at = time.monotonic()
                slot.proc = _Exited()  # type: ignore[assignment]

    def _forward(self, sig: signal.Signals) -> None:
        for slot in self.slots:
            if slot.proc is not None and slot.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    slot.proc.send_signal(sig)

    async def _stop_all(self) -> None:
        """SIGTERM to every worker; each drains and commits; the stubborn are killed."""
        self._stopping = True
        self._forward(signal.SIGTERM)
        procs = [s.proc for s in self.slots if s.proc is not None]
        try:
            async with asyncio.timeout(STOP_GRACE):
                await asyncio.gather(*(p.wait() for p in procs))
        except TimeoutError:
            for p in procs:
                if p.returncode is None:
                    self._log.error("worker.killed", pid=p.pid, reason="did not stop in time")
                    with contextlib.suppress(ProcessLookupError):
                        p.kill()
            await asyncio.gather(*(p.wait() for p in procs))
