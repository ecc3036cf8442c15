"""Run the service: logging, the aiohttp runner, graceful shutdown on SIGTERM/SIGINT.

On a signal the listener closes first, in-flight requests finish, then the
writer commits whatever is queued before the database closes.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from aiohttp import web

from .app import make_app
from .config import load_config
from .errors import InstanceError
from .logging import configure_logging, get_logger
from .ops.listener import make_ops_app
from .services import SERVICES


def serve(instance_dir: Path, *, host: str | None = None, port: int | None = None) -> None:
    config = load_config(instance_dir)
    log_file = config["service.log_file"]
    configure_logging(config["service.log_format"], config["service.log_level"],
                      instance_dir / log_file if log_file else None)
    asyncio.run(run_service(instance_dir, host or config["service.host"],
                     port if port is not None else config["service.port"]))


PID_FILE = "hotline.pid"


async def run_service(instance_dir: Path, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT (``hotline demo`` runs it beside the Twilio stand-in)."""
    app = make_app(instance_dir)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=10)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    get_logger().info("service.listening", host=host, port=port, pid=os.getpid())
    try:
        ops_runner = await _start_ops_listener(app)
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
    pid_file = instance_dir / PID_FILE
    pid_file.write_text(f"{os.getpid()}\n")
    try:
        await stop.wait()
    finally:
        pid_file.unlink(missing_ok=True)
    get_logger().info("service.stopping")
    if ops_runner is not None:
        await ops_runner.cleanup()
    await runner.cleanup()


async def _start_ops_listener(app: web.Application) -> web.AppRunner | None:
    """/metrics and /readyz on their own (loopback by default) listener, if configured."""
    config = app[SERVICES].config
    host, port = config["ops.host"], config["ops.port"]
    if not port:
        return None
    runner = web.AppRunner(make_ops_app(app), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as e:
        await runner.cleanup()
        raise InstanceError(
            f"the ops listener cannot bind {host}:{port} ({e.strerror}): set ops.port "
            "(HOTLINE_OPS_PORT) to a free port, or 0 to turn it off") from None
    get_logger().info("service.listening", kind="ops", host=host, port=port)
    return runner
