"""A webhook posted the way Twilio posts it, for ``hotline simulate sms|voice``.

One place for the request both simulators make: form-encoded, signed, with
Twilio's user agent; refusals come back as one clear line, the server's own
reason when it gave one.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from ..errors import ClientError
from .webhook import SIGNATURE_HEADER


def post_as_twilio(url: str, form: dict[str, str], signature: str) -> tuple[int, str]:
    data = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={  # noqa: S310 - an operator-given URL
        "Content-Type": "application/x-www-form-urlencoded", SIGNATURE_HEADER: signature,
        "User-Agent": "TwilioProxy/1.1 (hotline simulate)"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as e:
        try:
            reason = json.loads(e.read()).get("error", e.reason)
        except (ValueError, AttributeError):
            reason = e.reason
        raise ClientError(f"POST {url}: {e.code} {reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise ClientError(f"cannot reach {url}: {getattr(e, 'reason', e)}") from None
