"""The deletion-request tests drive the SMS channel against the Twilio stand-in."""

from __future__ import annotations

from tests.twilio.conftest import fake_twilio  # noqa: F401 - fixture, used by name
