"""The epoch keys on disk: ``secrets/epochs/<id>.key``, outside every database.

Why files and not rows: the whole point of an epoch key is that it is *not*
in a database, whose deleted rows linger in WAL, dead tuples and backups.
A file can be destroyed for real (as far as the file system allows):
``destroy`` overwrites it, fsyncs, unlinks and fsyncs the folder.

Writes are atomic and durable (a ``.partial`` file, fsync, rename, fsync of
the folder) so an epoch key is on disk before any row names it. Files are
0600 inside a 0700 folder.

Several front ends share the folder: a row naming an epoch this process has
not seen yet makes it read the folder again (``key``), and ``refresh`` drops
keys whose file another process destroyed, so a retired epoch does not live
on in a long-running front end's memory either.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from crypto.epoch import EPOCH_ID, EpochFileError, decode_epoch_file, encode_epoch_file

from ..errors import InstanceError

SUFFIX = ".key"
LOCK_NAME = ".rotate.lock"


class EpochKeyMissing(InstanceError):
    """A row names an epoch whose key file is not on disk (destroyed, or never restored)."""


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EpochFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._keys: dict[str, bytes] = {}
        self._lock = threading.Lock()  # used from the event loop and the store's threads

    def path(self, epoch_id: str) -> Path:
        if not EPOCH_ID.match(epoch_id):
            raise EpochKeyMissing(f"{self.folder}: '{epoch_id}' is not an epoch id")
        return self.folder / f"{epoch_id}{SUFFIX}"

    def ensure_folder(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.chmod(0o700)

    def on_disk(self) -> list[str]:
        """Ids of every epoch key file present."""
        if not self.folder.exists():
            return []
        return sorted(p.name[: -len(SUFFIX)] for p in self.folder.iterdir()
                      if p.name.endswith(SUFFIX) and EPOCH_ID.match(p.name[: -len(SUFFIX)]))

    def write(self, epoch_id: str, key: bytes) -> None:
        """Make the epoch key durable before anything is wrapped under it."""
        self.ensure_folder()
        target = self.path(epoch_id)
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, encode_epoch_file(epoch_id, key))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, target)
        fsync_dir(self.folder)
        with self._lock:
            self._keys[epoch_id] = key

    def key(self, epoch_id: str) -> bytes:
        """The epoch's key, from memory or (an epoch another front end made) from its file."""
        with self._lock:
            found = self._keys.get(epoch_id)
        if found is not None:
            return found
        path = self.path(epoch_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise EpochKeyMissing(f"{path}: epoch key not on disk (destroyed by a rotation, "
                                  "or the secrets folder was not restored whole)") from None
        try:
            key = decode_epoch_file(data, epoch_id)
        except EpochFileError as e:
            raise EpochKeyMissing(f"{path}: {e}") from None
        with self._lock:
            self._keys[epoch_id] = key
        return key

    def refresh(self) -> None:
        """Forget keys whose file is gone (another front end's rotation destroyed them)."""
        present = set(self.on_disk())
        with self._lock:
            for gone in [e for e in self._keys if e not in present]:
                del self._keys[gone]

    def forget(self, epoch_id: str) -> None:
        with self._lock:
            self._keys.pop(epoch_id, None)

    def destroy(self, epoch_id: str) -> bool:
        """Overwrite, fsync, unlink, fsync the folder; False if it was already gone.

        On copy-on-write or flash storage the overwrite may land elsewhere; the
        unlink and the rotation period still bound how long the key exists.
        """
        self.forget(epoch_id)
        path = self.path(epoch_id)
        try:
            fd = os.open(path, os.O_WRONLY)
        except FileNotFoundError:
            return False
        try:
            size = os.fstat(fd).st_size
            os.write(fd, b"\x00" * size)
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        fsync_dir(self.folder)
        return True

    def lock_path(self) -> Path:
        return self.folder / LOCK_NAME
