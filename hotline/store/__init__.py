"""Persistence: schema and migrations, the single group-commit writer, queries."""

from .database import DB_FILENAME, Database, initialise

__all__ = ["DB_FILENAME", "Database", "initialise"]
