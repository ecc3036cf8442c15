"""``hotline simulate sms``: a signed webhook from the command line, as Twilio would post it."""

from __future__ import annotations

import asyncio
import json

from tests.helpers.process import run_cli
from tests.twilio.conftest import SmsLive


def _simulate(sms: SmsLive, *args: str, check: bool = True, **env: str):  # type: ignore[no-untyped-def]
    return asyncio.to_thread(run_cli, "simulate", "sms", str(sms.instance.root), *args,
                             check=check, **{**sms.env, **env})


async def test_simulate_sms_posts_a_signed_webhook(sms: SmsLive) -> None:
    proc = await _simulate(sms, "--from", "+14155550111", "--body", "hola, necesito ayuda", "--json")
    result = json.loads(proc.stdout)
    assert result["status"] == 200 and result["message_sid"].startswith("SM")
    assert result["reply"].startswith("Gracias") and "911" in result["reply"]
    proc = await _simulate(sms, "--from", "+14155550111", "--body", "more", "--whatsapp")
    assert "HTTP 200" in proc.stdout
    tips = sms.query("SELECT channel FROM tips ORDER BY channel")
    assert tips == [("sms",), ("whatsapp",)]


async def test_simulate_sms_errors_are_one_line(sms: SmsLive) -> None:
    proc = await _simulate(sms, "--from", "+14155550111", "--body", "x", check=False,
                           HOTLINE_TWILIO_AUTH_TOKEN="not-the-token")
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith("403 the Twilio signature is not valid")
    proc = await asyncio.to_thread(run_cli, "simulate", "sms", str(sms.instance.root),
                                   "--from", "+1", check=False)
    assert proc.returncode == 2 and "Twilio is not configured" in proc.stderr
    assert "Traceback" not in proc.stderr and sms.count("messages") == 0
