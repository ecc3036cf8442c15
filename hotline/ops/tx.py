"""One short write transaction on an instance's database, for CLI verbs.

Safe while the service runs: on SQLite the lock serialises it with the
service's writer (``busy_timeout`` waits); on PostgreSQL it is one more
transaction beside the front ends' writers. It never touches the key store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..store.factory import sync_transaction
from ..store.seam import store_target


@contextmanager
def transaction(root: Path) -> Iterator[Any]:
    with sync_transaction(store_target(root)) as conn:
        yield conn
