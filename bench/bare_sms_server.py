"""The fair baseline for the SMS webhook: a bare aiohttp handler that does what
the webhook's front door does, and nothing of Hotline's own work.

It reads the same form-urlencoded body, splits it into fields (blank values
kept: Twilio signs them), checks the ``X-Twilio-Signature`` HMAC-SHA1 over the
URL + the sorted parameters exactly as Twilio's scheme defines it (one HMAC,
constant-time compare; a bad signature is a 403) and answers a small TwiML
reply. What the full SMS path is compared against, in the same run, on the
same machine, with the same load generator and the same signed bodies.

Run:  python bench/bare_sms_server.py PORT PUBLIC_URL AUTH_TOKEN
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys
from urllib.parse import parse_qsl

from aiohttp import web

TWIML = ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks, we got your '
         'message.</Message></Response>')


def make_app(public_url: str, token: str) -> web.Application:
    key = token.encode()

    async def handle(request: web.Request) -> web.Response:
        pairs = parse_qsl((await request.read()).decode(), keep_blank_values=True)
        params: dict[str, set[str]] = {}
        for k, v in pairs:
            params.setdefault(k, set()).add(v)
        s = public_url + request.raw_path + "".join(
            k + v for k in sorted(params) for v in sorted(params[k]))
        expected = base64.b64encode(hmac.new(key, s.encode(), hashlib.sha1).digest())
        given = request.headers.get("X-Twilio-Signature", "").encode("utf-8", "replace")
        if not hmac.compare_digest(expected, given):
            return web.Response(status=403, text="bad signature")
        return web.Response(text=TWIML, content_type="text/xml")

    app = web.Application()
    app.router.add_post("/twilio/sms", handle)
    app.router.add_get("/healthz", lambda _r: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    return app


def main() -> None:
    port, public_url, token = int(sys.argv[1]), sys.argv[2].rstrip("/"), sys.argv[3]
    web.run_app(make_app(public_url, token), host="127.0.0.1", port=port, access_log=None,
                print=None)


if __name__ == "__main__":
    main()
