"""The ``hotline`` command tree: parse, call, print. No logic lives here."""
