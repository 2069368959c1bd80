"""``WriteLock``: one writer at a time per table, across processes and threads.

LanceDB commits optimistically: concurrent appends to a local table are retried and all
land, but "add what is not there yet" is a read then a write, which two processes could
interleave (each sees the id missing, both add it), and concurrent deletes fail with a
commit conflict. So every write holds an exclusive ``flock`` on ``<table>.lock`` next to the
table. Each hold opens the file anew: ``flock`` locks an open file description, so two holds
in one process exclude each other too. Readers never take it (LanceDB's versions are
immutable snapshots). `ahold` polls with a short sleep instead of blocking a thread.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

__all__ = ["WriteLock", "WriteLockTimeout"]

_FIRST_WAIT_S = 0.001
_LONGEST_WAIT_S = 0.05


class WriteLockTimeout(TimeoutError):
    """Another writer held the table's lock for longer than the timeout."""


class WriteLock:
    """An exclusive lock on the file ``path`` (created with its folder), held for at most
    ``timeout`` seconds of waiting."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 120.0) -> None:
        self.path = Path(path)
        self.timeout = timeout

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)

    def _try(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _timed_out(self) -> WriteLockTimeout:
        return WriteLockTimeout(f"waited {self.timeout:g} s for the write lock {self.path}")

    @asynccontextmanager
    async def ahold(self) -> AsyncIterator[None]:
        """Hold the lock, waiting on the event loop while another writer has it."""
        fd = self._open()
        try:
            deadline = time.monotonic() + self.timeout
            wait = _FIRST_WAIT_S
            while not self._try(fd):
                if time.monotonic() >= deadline:
                    raise self._timed_out()
                await asyncio.sleep(wait)
                wait = min(wait * 2, _LONGEST_WAIT_S)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
