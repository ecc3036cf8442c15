"""The baseline: a bare aiohttp handler that parses the same form and answers.

What the full intake path is compared against, in the same run, on the same
machine, with the same load generator.
"""

from __future__ import annotations

import sys

from aiohttp import web


async def handle(request: web.Request) -> web.Response:
    form = await request.post()
    return web.Response(text=f"<p>ok {len(str(form.get('message', '')))}</p>",
                        content_type="text/html")


def main() -> None:
    app = web.Application()
    app.router.add_post("/report", handle)
    app.router.add_get("/healthz", lambda _r: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
