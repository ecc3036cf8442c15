"""Persistence: schema and migrations, the single group-commit writer, queries.

``seam`` is the interface everyone uses; ``database`` (SQLite) and
``postgres`` (PostgreSQL) stand behind it.
"""

from .database import DB_FILENAME, Database, initialise
from .factory import open_store
from .seam import Store, StoreTarget, store_target

__all__ = ["DB_FILENAME", "Database", "Store", "StoreTarget", "initialise", "open_store",
           "store_target"]
