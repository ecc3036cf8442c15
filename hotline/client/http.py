"""A small synchronous JSON-over-HTTP client for the CLI (stdlib only).

Errors become one ``ClientError`` line naming what the server said; no
traceback for a refused request or an unreachable server.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from ..errors import ClientError

TIMEOUT = 30


class Http:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.token: str | None = None

    def _request(self, method: str, path: str, body: Any = None) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310 - the advocate's own server URL
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310
                return bytes(resp.read())
        except urllib.error.HTTPError as e:
            raise ClientError(f"{method} {path}: {e.code} {_reason(e)}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ClientError(f"cannot reach {self.base}: {reason}") from None

    def get_json(self, path: str) -> Any:
        return _decode(self._request("GET", path), path)

    def post_json(self, path: str, body: Any) -> Any:
        return _decode(self._request("POST", path, body), path)

    def request_json(self, method: str, path: str, body: Any) -> Any:
        return _decode(self._request(method, path, body), path)

    def get_bytes(self, path: str) -> bytes:
        return self._request("GET", path)


def _reason(e: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(e.read()).get("error", e.reason))
    except (ValueError, AttributeError, OSError):
        return str(e.reason)


def _decode(raw: bytes, path: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ClientError(f"{path}: the server did not answer with JSON") from None
