"""The tests' Twilio stand-in: the one in the package (``hotline.twilio.standin``).

Kept as a re-export so the tests and ``hotline demo`` drive the same wire format.
"""

from hotline.twilio.standin import (
    API_VERSION,
    TWILIO_API,
    Failure,
    FakeTwilio,
    Recorded,
    incoming_sms_form,
    sid,
    sign,
    signed_post,
)

__all__ = ["API_VERSION", "TWILIO_API", "Failure", "FakeTwilio", "Recorded", "incoming_sms_form",
           "sid", "sign", "signed_post"]
