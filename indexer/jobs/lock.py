"""One indexing run per index at a time, with a lock a crashed run cannot leave held.

``fcntl.flock`` locks belong to the open file description: the kernel releases them when the
process exits for any reason, ``kill -9`` and power-cut-like crashes included, so there is no stale
lock file to clean by hand and no PID guessing. The file also records the holder's pid and job for
the message a second run prints. (POSIX only; medsearch's deployments are Linux.)
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType


class IndexBusyError(RuntimeError):
    """Another run holds the index's lock."""


def lock_path(index_dir: Path) -> Path:
    """The lock file of an index: beside its folder (``var/index`` → ``var/index.lock``), so a
    ``--rebuild`` that replaces the folder cannot remove a lock another run holds."""
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}.lock"


class IndexLock:
    """Exclusive, non-blocking lock on one index: ``with IndexLock(dir, "nightly"): ...``."""

    def __init__(self, index_dir: Path, holder: str = "") -> None:
        self.path = lock_path(index_dir)
        self.holder = holder
        self._fd: int | None = None

    def acquire(self) -> IndexLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise IndexBusyError(f"the index {self.path.with_suffix('')} is being written by {holder}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({self.holder or 'indexing run'})\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> IndexLock:
        return self.acquire()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.release()


def is_locked(index_dir: Path) -> bool:
    """Whether some process holds the index's lock right now (probes without keeping it)."""
    try:
        with IndexLock(index_dir, "probe"):
            return False
    except IndexBusyError:
        return True
