"""One worker of ``hotline serve --workers N``, started by the supervisor only.

``python -m hotline.worker_main DIR --index K --host H --port P --lifeline-fd L
[--ops-socket PATH]``: the worker listens on H:P with ``SO_REUSEPORT`` beside
its siblings; ``L`` is one end of a socket pair on which it says "ready" and
whose end-of-file tells it the supervisor is gone. Everything
else (configuration, secrets, the database) the worker opens itself from the
instance folder, exactly as a single ``hotline serve`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from pathlib import Path

from .config import load_config
from .errors import HotlineError
from .logging import configure_logging
from .server import WorkerSetup, run_service


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="hotline-worker")
    p.add_argument("dir")
    p.add_argument("--index", type=int, required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--lifeline-fd", type=int, required=True)
    p.add_argument("--ops-socket")
    args = p.parse_args(argv)
    root = Path(args.dir)
    try:
        config = load_config(root)
        log_file = config["service.log_file"]
        configure_logging(config["service.log_format"], config["service.log_level"],
                          root / log_file if log_file else None, bind={"worker": args.index})
        setup = WorkerSetup(
            index=args.index,
            lifeline=socket.socket(fileno=args.lifeline_fd),
            ops_socket=Path(args.ops_socket) if args.ops_socket else None)
        asyncio.run(run_service(root, args.host, args.port, setup))
    except HotlineError as e:
        print(f"hotline: error: worker {args.index}: {e.public_message}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # one line, as the CLI does (hotline.cli.main); the trace if asked
        if os.environ.get("HOTLINE_DEBUG"):
            raise
        print(f"hotline: error: worker {args.index} stopped by an unexpected {type(e).__name__} "
              "(run with HOTLINE_DEBUG=1 to see where)", file=sys.stderr)
        return 70
    return 0


if __name__ == "__main__":
    sys.exit(main())
