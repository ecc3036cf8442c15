"""Inputs fuzz/forms found crashing the Twilio webhooks (see tests/test_fuzz_regressions.py)."""

from __future__ import annotations

from tests.test_fuzz_regressions import BROKEN_CONTENT_TYPES
from tests.twilio.conftest import SmsLive


async def test_unparseable_content_type_on_a_twilio_webhook_is_a_clear_400(sms: SmsLive) -> None:
    for ctype in BROKEN_CONTENT_TYPES:
        async with sms.session.post(sms.url + "/twilio/sms", data=b"Body=x",
                                    headers={"X-Twilio-Signature": "x", "Content-Type": ctype}) as r:
            assert r.status == 400, ctype
            assert "Content-Type" in (await r.json())["error"]
