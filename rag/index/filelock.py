"""Locks between processes: an `fcntl` lock on a file in the index folder.

The kernel drops the lock when its holder's file descriptor closes, including when the process
is killed (kill -9), so a crashed writer never leaves the library locked. Each acquisition opens
the file afresh, so two threads of one process also exclude each other.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

POLL_SECONDS = 0.05  # how often a waiter with a timeout retries


class LockTimeoutError(TimeoutError):
    """The lock stayed held by another process for longer than the caller would wait."""


class FileLock:
    """An exclusive lock on `path` (created if missing), shared by every process on the host."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    @contextmanager
    def hold(self, timeout: float | None = None) -> Iterator[None]:
        """Wait for the lock (for ever, or up to `timeout` seconds), hold it for the block.

        Raises:
            LockTimeoutError: `timeout` passed with the lock still held elsewhere.
        """
        if getattr(self._local, "held", False):  # already ours in this thread: nesting is a no-op
            yield
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._acquire(fd, timeout)
            self._local.held = True
            try:
                yield
            finally:
                self._local.held = False
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def held_elsewhere(self) -> bool:
        """Whether some other holder has the lock right now (a probe: it is released at once)."""
        if getattr(self._local, "held", False):
            return False
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    def _acquire(self, fd: int, timeout: float | None) -> None:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeoutError(f"{self.path} is held by another process") from None
                time.sleep(POLL_SECONDS)
