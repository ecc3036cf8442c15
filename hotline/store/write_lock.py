"""One SQLite file's write turn, taken in the kernel: an ``flock`` beside the database.

Why not SQLite's own lock alone: with several front ends on one file
(``--workers N``) each has its own group-commit writer, and a writer that finds
the file locked waits in SQLite's busy handler, which sleeps 1, 2, 5 … up to
100 ms between tries while the holder, whose queue is never empty under load,
takes the lock again the moment it commits. That polling was the two-worker
p99 (620–1,580 ms, bench/RESULTS.md). A waiter blocked in ``flock`` instead is
woken by the kernel as soon as the holder lets go, so turns alternate.

The lock is taken before ``BEGIN IMMEDIATE`` and given back after ``COMMIT``
or ``ROLLBACK``, so the SQLite lock under it is normally free; SQLite's lock
and ``busy_timeout`` stay the authority for anyone who does not take the
``flock`` (one-shot CLI tools, migrations), and such a writer costs at most a
busy wait, never a deadlock: nobody waits for the ``flock`` while holding
SQLite's lock.

Lock order: a writer thread holds at most one of these at a time (the main
database's and the key store's are taken by different threads, around their
own batches only, and no write callable waits for the other store), so the
two locks cannot deadlock. A holder killed with ``kill -9`` loses its
descriptor and the kernel releases the lock; SQLite recovers the
half-written transaction from the WAL as it always did.

The lock file is empty, owner-only, and named ``<database>.writelock``.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

SUFFIX = ".writelock"


def lock_path_for(database: Path) -> Path:
    return database.with_name(database.name + SUFFIX)


class WriteLock:
    """An exclusive ``flock`` on ``<database>.writelock``, held around each write batch.

    One instance per writer thread; every instance opens its own descriptor, so
    two writers in one process exclude each other just as two processes do.
    """

    def __init__(self, database: Path) -> None:
        self.path = lock_path_for(database)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self.held = False

    def acquire(self) -> None:
        """Wait (in the kernel, without the GIL) until no other writer holds the file."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self.held = True

    def try_acquire(self) -> bool:
        """Take the turn if nobody holds it; False (without waiting) if somebody does."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self.held = True
        return True

    def release(self) -> None:
        if self.held:
            self.held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def close(self) -> None:
        self.held = False
        os.close(self._fd)  # closing the descriptor drops the lock too
