"""The ledger's append lock: an OS file lock (flock) plus a mutex for threads of one process."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.errors import LockTimeout

LOCK_TIMEOUT_S = 60.0
_POLL_S = 0.002


class FileLock:
    """Exclusive lock on a file, serializing writers across processes and threads."""

    def __init__(self, path: Path, timeout_s: float = LOCK_TIMEOUT_S) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._mutex = threading.Lock()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the duration of the ``with`` block.

        Raises:
            LockTimeout: the lock was not free within ``timeout_s``.
        """
        if not self._mutex.acquire(timeout=self.timeout_s):
            raise LockTimeout(f"ledger lock {self.path} busy for {self.timeout_s:.0f}s")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                self._acquire(fd)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        finally:
            self._mutex.release()

    def _acquire(self, fd: int) -> None:
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"ledger lock {self.path} held by another process for {self.timeout_s:.0f}s"
                    ) from None
                time.sleep(_POLL_S)


def lock_is_held(path: Path) -> bool:
    """Whether some writer holds the lock at ``path`` right now; never waits.

    Takes and drops a shared lock: it conflicts only with a writer's exclusive one.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False  # no lock file: no writer has ever held it
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
