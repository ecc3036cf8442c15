"""Hotline: secure, anonymous tip and hotline intake.

The service (``hotline.app``), the ``hotline`` CLI and the advocate client.
It composes the two libraries beside it: ``crypto`` (every byte that is
encrypted) and ``triage_rules`` (how urgent a text sounds).
"""

__version__ = "0.1.0"
