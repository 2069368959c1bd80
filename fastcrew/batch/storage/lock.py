"""One run per output: a POSIX record lock on ``<output>.lock``, held for the whole run.

A second ``fastcrew batch`` (or ``run_batch``) on an output in use is refused before it
touches any file. The lock is an ``fcntl`` record lock (``F_SETLK`` via :func:`fcntl.lockf`):
the kernel drops it when the process ends, however it ends (``kill -9`` included), so a
stale lock never needs cleaning up; Linux NFS clients forward it to the server's lock
manager (NFSv3 with ``lockd``, NFSv4). Some FUSE and SMB mounts do not implement it
(``ENOLCK``): the run is then refused too, with the reason.

POSIX locks belong to the process and are released when *any* descriptor of the file is
closed by it, so the lock file is opened exactly once per run and never elsewhere; runs
inside one process (``run_batch`` from two threads) are kept apart by a registry of the
lock files this process holds, checked before opening. The lock file is left in place (an
empty file): removing it while another run waits on it would let two runs lock two files.
"""

from __future__ import annotations

import errno as errnos
import fcntl
import os
import threading
from types import TracebackType

from ...errors import ConfigurationError
from .output import storage_error

__all__ = ["OutputLock", "lock_path"]

_HELD: set[str] = set()
_HELD_GUARD = threading.Lock()
_BUSY = (errnos.EACCES, errnos.EAGAIN)


def lock_path(output: str) -> str:
    """The lock file of ``output``."""
    return output + ".lock"


def _in_use(output: str) -> ConfigurationError:
    return ConfigurationError(
        f"{output} is in use by another run (another process holds the lock on "
        f"{lock_path(output)}); wait for it to finish, or choose another -o. Nothing was written."
    )


class OutputLock:
    """A context manager holding the lock of one output for a run.

    Raises :class:`~fastcrew.ConfigurationError` when the output is in use or its directory
    does not exist (nothing ran: exit 2), :class:`~fastcrew.errors.StorageError` when the
    lock file cannot be created (a read-only directory, no lock support: exit 74)."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.path = os.path.abspath(lock_path(output))
        self.fd = -1

    def __enter__(self) -> OutputLock:
        directory, name = os.path.split(self.path)
        if not os.path.isdir(directory):
            raise ConfigurationError(
                f"the output directory {os.path.dirname(self.output) or '.'} does not exist "
                "(or is not a directory); create it or choose another -o"
            )
        self.path = os.path.join(os.path.realpath(directory), name)
        with _HELD_GUARD:
            if self.path in _HELD:
                raise _in_use(self.output)
            _HELD.add(self.path)
        try:
            self._lock()
        except BaseException:
            with _HELD_GUARD:
                _HELD.discard(self.path)
            raise
        return self

    def _lock(self) -> None:
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise storage_error(self.path, exc, "create the lock file") from None
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self.fd)
            self.fd = -1
            if exc.errno in _BUSY:
                raise _in_use(self.output) from None
            raise storage_error(self.path, exc, "lock") from None

    def __exit__(
        self,
        et: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # releases the lock
            self.fd = -1
        with _HELD_GUARD:
            _HELD.discard(self.path)
