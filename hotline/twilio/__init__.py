"""The Twilio edge: webhook signatures, the REST wrapper (configurable base URL),
media fetch/delete, durable follow-up jobs, reply delivery and the texts a
texter receives. Nothing here opens a report; numbers and content only pass
through memory on their way into ``intake.submit`` or out to Twilio.
"""
