"""Fuzz the form readers: the reporter's web form and Twilio's signed webhook forms.

Input layout, four lines and a body: the reporter form's Content-Type
header; the Twilio webhook's raw path and query; its ``X-Twilio-Signature``;
a flag byte line (bit 0: sign the body correctly, so parsing goes past the
signature check); then the body, fed to both readers.

* ``hotline.channels.web_form.read_form`` over a real aiohttp request
  (urlencoded or multipart): it returns a form or raises a ``HotlineError``
  (or aiohttp's own 4xx ``HTTPException``, which the app's middleware answers
  with its status); anything else would be a 500.
* ``hotline.twilio.webhook``: ``parse_form`` raises only ``BadRequest``;
  ``signature_is_valid`` returns a bool and never raises, accepts the
  signature Twilio would compute (for a URL in the normal form its validator
  rebuilds, which all our published URLs are), and refuses it for another URL;
  ``parse_incoming`` and the status callback's ``_status_fields`` raise only
  ``BadRequest``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
from urllib.parse import urlparse

from fuzz.harness import fuzz_main, instrumented, require

with instrumented(__name__):
    from aiohttp import web
    from aiohttp.streams import StreamReader
    from aiohttp.test_utils import make_mocked_request

    from hotline.channels.sms import _status_fields
    from hotline.channels.web_form import FormLimits, read_form
    from hotline.errors import HotlineError
    from hotline.twilio.webhook import parse_form, parse_incoming, signature_is_valid, webhook_url

AUTH_TOKEN = "12345"  # noqa: S105 - TWILIO.md's test-vector token
PUBLIC_URLS = ("https://hotline.example.org", "https://hotline.example.org:8443/prefix/")
LIMITS = FormLimits(max_chars=2000, max_attachments=3, max_attachment_size=4096)
_LOOP = asyncio.new_event_loop()
# A path and query as a request line carries them. Twilio's validator signs the
# URL as urlparse().geturl() rebuilds it, so only URLs already in that form (all
# the ones we publish) are held to "Twilio's own signature is accepted".
_WIRE_PATH = re.compile(r"/[\x21-\x22\x24-\x7e]*")


def twilio_signature(url: str, pairs: list[tuple[str, str]]) -> str:
    """What Twilio sends (TWILIO.md §1): stdlib only, independent of the validator under test."""
    params: dict[str, set[str]] = {}
    for name, value in pairs:
        params.setdefault(name, set()).add(value)
    s = url + "".join(name + value for name in sorted(params) for value in sorted(params[name]))
    return base64.b64encode(hmac.new(AUTH_TOKEN.encode(), s.encode(), hashlib.sha1).digest()).decode()


async def _read_web_form(content_type: str, body: bytes) -> None:
    protocol = _Protocol()
    payload = StreamReader(protocol, 2**16, loop=_LOOP)  # type: ignore[arg-type]
    payload.feed_data(body)
    payload.feed_eof()
    request = make_mocked_request("POST", "/report", headers={"Content-Type": content_type},
                                  payload=payload, client_max_size=2**20, loop=_LOOP)
    try:
        form = await read_form(request, LIMITS)
    except HotlineError:
        return
    except web.HTTPException as e:
        if not 400 <= e.status < 500:
            raise
        return
    require(len(form.attachments) <= LIMITS.max_attachments, "more attachments than allowed")
    require(all("\x00" not in v for v in form.fields.values()), "a NUL reached a form field")


class _Protocol:
    """The least a StreamReader needs from its protocol."""

    _reading_paused = False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, resume_parser: bool = True) -> None:
        pass


def check_twilio(raw_path: str, signature: str, sign: bool, body: bytes) -> None:
    try:
        form = parse_form(body)
    except HotlineError:
        return
    for public_url in PUBLIC_URLS:
        url = webhook_url(public_url, raw_path)
        valid = signature_is_valid(AUTH_TOKEN, url, form, signature)
        require(isinstance(valid, bool), "signature_is_valid returned a non-bool")
        if sign and _WIRE_PATH.fullmatch(raw_path) and urlparse(url).geturl() == url:
            good = twilio_signature(url, list(form.items()))
            require(signature_is_valid(AUTH_TOKEN, url, form, good), "Twilio's own signature refused")
            require(not signature_is_valid(AUTH_TOKEN, url + "x", form, good),
                    "a signature accepted for another URL")
    try:
        parse_incoming(form, max_media=5)
    except HotlineError:
        pass
    try:
        _status_fields(form)
    except HotlineError:
        pass


def check(data: bytes) -> None:
    lines = data.split(b"\n", 4)
    if len(lines) < 5:
        lines += [b""] * (5 - len(lines))
    content_type, raw_path, signature, flags, body = lines
    _LOOP.run_until_complete(_read_web_form(content_type.decode("latin-1"), body))
    # aiohttp's HTTP parser gives raw_path as origin-form ("/...") or an absolute URL;
    # anything else is a 400 before any handler, so the fuzzed path is origin-form.
    check_twilio("/" + raw_path.decode("utf-8", "replace").removeprefix("/"), signature.decode("latin-1"),
                 bool(flags[:1] and flags[0] & 1), body)


if __name__ == "__main__":
    fuzz_main(check)
