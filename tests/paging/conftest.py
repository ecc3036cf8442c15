"""Paging tests run the real service against the Twilio stand-in (and, for e-mail,
a real local SMTP server)."""

from __future__ import annotations

from tests.twilio.conftest import fake_twilio  # noqa: F401 - fixture, used by name
