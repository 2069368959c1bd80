"""One SQLite connection per thread to one file, as the response cache and the embedding
store use it: a thread's connection is made at its first use, a finished thread's is closed
when another is made, ``close`` closes them all; in a forked child the parent's connections
are never used and never closed (closing one could drop the parent's locks or delete the
WAL under it)."""

from __future__ import annotations

import sqlite3
import threading
import weakref

from . import db

__all__ = ["ThreadConnections"]

_INHERITED: list[sqlite3.Connection] = []
"""Forked children's copies of their parent's connections, kept open and unused."""


def _alive(ref: weakref.ref[threading.Thread]) -> bool:
    thread = ref()
    return thread is not None and thread.is_alive()


class ThreadConnections:
    """The connections of one process to ``path`` (``what`` names the file in errors)."""

    def __init__(self, path: str, timeout: float, what: str) -> None:
        self.path = path
        self.timeout = timeout
        self.what = what
        self.closed = False
        self._lock = threading.Lock()
        self._local = threading.local()
        self._conns: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []

    def get(self) -> sqlite3.Connection:
        """This thread's connection (made now if it has none)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self.closed:
                raise RuntimeError(f"{self.what} {self.path!r} is closed")
            conn = db.connect(self.path, self.timeout, self.what)
            self._local.conn = conn
            with self._lock:  # a finished thread's connection is closed here
                ended = [c for thread, c in self._conns if not _alive(thread)]
                self._conns = [(t, c) for t, c in self._conns if _alive(t)]
                self._conns.append((weakref.ref(threading.current_thread()), conn))
            for old in ended:
                old.close()
        return conn

    def close(self) -> None:
        """Close every connection (a later :meth:`get` raises)."""
        with self._lock:
            self.closed = True
            conns, self._conns = [c for _, c in self._conns], []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def abandon(self) -> None:
        """In a forked child: keep the parent's connections open, unused, for good."""
        _INHERITED.extend(c for _, c in self._conns)
        self._conns = []
        self.closed = True
