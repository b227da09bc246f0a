"""Exclusive locks on what an embedded store keeps on disk: its home, its Chroma index
directory and its SQLite file, each locked on its own.

Measured with Chroma 1.5.9: two processes writing one embedded store left queries
missing up to 40% of the records. A lock on the home alone did not cover it: a second
process with another home but the same index path (or the same SQLite file) opened, and
its open-time repair deleted the first one's index entries. So each of those files is
locked where it lives, before anything is read or written, and a second process gets
StoreLockedError with nothing touched. A PostgreSQL record store and a Chroma server are
shared by design and take no lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from memkit.errors import StoreLockedError

__all__ = ["FileLock", "lock_all"]


class FileLock:
    """Held from open to close; the OS releases it if the process dies.

    ``path`` is the lock file (created if missing, holding the holder's pid); ``what``
    names what it guards in the error a second process gets.
    """

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(self._fd)
            raise StoreLockedError(
                f"{what} is open in another process (pid {holder}). "
                "An embedded store serves one process; to share memories between processes, "
                "run a Chroma server and PostgreSQL and configure vector_store.config.host "
                "and record_store.url."
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


def lock_all(targets: list[tuple[Path, str]]) -> list[FileLock]:
    """Take every lock, in order, or none: on a conflict the ones taken are released."""
    held: list[FileLock] = []
    try:
        for path, what in targets:
            held.append(FileLock(path, what))
    except BaseException:
        for lock in held:
            lock.release()
        raise
    return held
