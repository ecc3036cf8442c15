"""Running it for real: metrics, health, retention, backups, doctor.

Kept import-free: ``config`` imports ``ops.settings`` through this package, so
the service's wiring (``lifecycle.setup_ops``) lives in its own module.
"""
