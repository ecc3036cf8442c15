"""Run the service: logging, the aiohttp runner, graceful shutdown on SIGTERM/SIGINT.

On a signal the listener closes first, in-flight requests finish, then the
writer commits whatever is queued before the database closes.

``serve(..., workers=N)`` with N > 1 runs a supervisor (``hotline.supervisor``)
that binds the ports once and starts N worker processes; each worker is this
same service (:func:`run_service`) on its own ``SO_REUSEPORT`` socket of the
port, with its ops listener on a private Unix socket the supervisor asks.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from .app import make_app
from .config import load_config
from .errors import InstanceError
from .logging import configure_logging, get_logger
from .ops.listener import make_ops_app
from .services import SERVICES

PID_FILE = "hotline.pid"


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker process gets from its supervisor (``hotline.worker_main``)."""

    index: int
    lifeline: socket.socket  # "ready" goes up it; its end-of-file means the supervisor is gone
    ops_socket: Path | None  # where this worker's /metrics and /readyz answer the supervisor


def serve(instance_dir: Path, *, host: str | None = None, port: int | None = None,
          workers: int | str | None = None) -> int:
    config = load_config(instance_dir)
    count = resolve_workers(workers if workers is not None else config["service.workers"])
    host = host or config["service.host"]
    port = port if port is not None else config["service.port"]
    log_file = config["service.log_file"]
    configure_logging(config["service.log_format"], config["service.log_level"],
                      instance_dir / log_file if log_file else None)
    if count == 1:
        asyncio.run(run_service(instance_dir, host, port))
        return 0
    from .supervisor import Supervisor

    return asyncio.run(Supervisor(instance_dir, config, host, port, count).run())


def resolve_workers(value: int | str) -> int:
    """``auto`` is one worker per core this process may run on."""
    if value == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    return int(value)


async def run_service(instance_dir: Path, host: str, port: int,
                      worker: WorkerSetup | None = None) -> None:
    """Serve until SIGTERM/SIGINT (``hotline demo`` runs it beside the Twilio stand-in)."""
    app = make_app(instance_dir)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=10)
    await runner.setup()
    log = get_logger()
    if worker is None:
        await web.TCPSite(runner, host, port).start()
        log.info("service.listening", host=host, port=port, pid=os.getpid())
    else:
        try:  # every worker its own socket on the port; the kernel spreads connections
            await web.TCPSite(runner, host, port, reuse_port=True).start()
        except OSError as e:
            await runner.cleanup()
            raise InstanceError(f"cannot listen on {host}:{port} ({e.strerror})") from None
        log.info("service.listening", host=host, port=port, pid=os.getpid(), worker=worker.index)
    try:
        ops_runner = await _start_ops_listener(app, worker)
    except InstanceError:
        await runner.cleanup()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    rules = app[SERVICES].rules
    reloads: set[asyncio.Task[object]] = set()

    def reload_rules() -> None:
        task = loop.create_task(rules.reload_in_background())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, reload_rules)
    pid_file = None if worker is not None else instance_dir / PID_FILE
    if pid_file is not None:
        pid_file.write_text(f"{os.getpid()}\n")
    if worker is not None:
        _hold_lifeline(loop, worker.lifeline, stop)
    try:
        await stop.wait()
    finally:
        if pid_file is not None:
            pid_file.unlink(missing_ok=True)
    log.info("service.stopping")
    if ops_runner is not None:
        await ops_runner.cleanup()
    await runner.cleanup()


def _hold_lifeline(loop: asyncio.AbstractEventLoop, lifeline: socket.socket,
                   stop: asyncio.Event) -> None:
    """Tell the supervisor this worker is serving, and stop if the supervisor goes away.

    Without this a worker whose supervisor was killed (``kill -9`` of the parent) would keep
    serving alone, unsupervised and invisible to the ops listener.
    """
    lifeline.setblocking(False)
    lifeline.send(b"ready\n")

    def readable() -> None:
        try:
            data = lifeline.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(lifeline.fileno())
            get_logger().warning("service.supervisor_gone")
            stop.set()

    loop.add_reader(lifeline.fileno(), readable)


async def _start_ops_listener(app: web.Application,
                              worker: WorkerSetup | None = None) -> web.AppRunner | None:
    """/metrics and /readyz on their own (loopback by default) listener, if configured.

    A worker answers them on its private Unix socket only; the supervisor's ops
    listener asks every worker and answers for all of them.
    """
    config = app[SERVICES].config
    host, port = config["ops.host"], config["ops.port"]
    if worker is not None and worker.ops_socket is None:
        return None
    if worker is None and not port:
        return None
    runner = web.AppRunner(make_ops_app(app), access_log=None, handle_signals=False)
    await runner.setup()
    if worker is not None and worker.ops_socket is not None:
        await web.UnixSite(runner, str(worker.ops_socket)).start()
        return runner
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as e:
        await runner.cleanup()
        raise InstanceError(
            f"the ops listener cannot bind {host}:{port} ({e.strerror}): set ops.port "
            "(HOTLINE_OPS_PORT) to a free port, or 0 to turn it off") from None
    get_logger().info("service.listening", kind="ops", host=host, port=port)
    return runner
