"""The fair baseline: a bare aiohttp handler that does what the web channel's
front door does, and nothing of Hotline's own work.

It reads the same body, splits it into fields with the same fast parser the
web form uses (``hotline/channels/multipart.py``; aiohttp's own multipart
reader costs ~0.8 ms more per request) and answers a small page. What the
full intake path is compared against, in the same run, on the same machine,
with the same load generator and the same bodies.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hotline.channels.multipart import boundary_from_content_type, parse_multipart


def _limit(_name: str, _filename: str | None) -> int:
    return 64 * 1024


async def handle(request: web.Request) -> web.Response:
    boundary = boundary_from_content_type(request.headers.get("Content-Type", ""))
    parts = parse_multipart(await request.read(), boundary, max_parts=32, limit_for=_limit)
    fields = {p.name: p.data.decode() for p in parts}
    return web.Response(text=f"<p>ok {len(fields.get('message', ''))}</p>",
                        content_type="text/html")


def main() -> None:
    app = web.Application()
    app.router.add_post("/report", handle)
    app.router.add_get("/healthz", lambda _r: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
