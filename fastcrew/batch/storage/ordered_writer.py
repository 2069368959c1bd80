"""The ordered writer: results come back in any order, the output gets them in input order.

Rows finished by workers wait in a reorder buffer until every row before them is written;
the supervisor never dispatches a row more than ``window`` rows ahead of the first unwritten
one, so the buffer holds at most ``window`` rows (in flight + finished early). Rows finished
in an earlier run come from a :class:`Prior` (the journal, or the previous output file when
``--retry-failed`` rewrites it) and are read only when their turn comes.
"""

from __future__ import annotations

import os
from collections.abc import Container, Mapping
from typing import IO, Protocol

from .journal import JournalState, write_all

__all__ = ["BaseFilePrior", "JournalPrior", "OrderedWriter", "Prior"]


class Prior(Protocol):
    """Rows finished before this run; asked for indices in increasing order."""

    def lookup(self, index: int) -> bytes | None:
        """The row for ``index``, or None when this run must produce it."""
        ...


class JournalPrior:
    """Rows recorded in the journal (read with ``pread`` when their turn comes)."""

    def __init__(self, fd: int, state: JournalState) -> None:
        self._fd = fd
        self._state = state

    def lookup(self, index: int) -> bytes | None:
        state = self._state
        if not state.has(index):
            return None
        return os.pread(self._fd, state.length[index], state.offset[index])


class BaseFilePrior:
    """The ``count`` rows of a finished output file, read sequentially; ``rerun`` rows are
    produced again, ``overrides`` (index → row) replace the file's row."""

    def __init__(
        self,
        base: IO[bytes],
        count: int,
        rerun: Container[int],
        overrides: Mapping[int, bytes],
    ) -> None:
        self._base = base
        self._count = count
        self._next = 0
        self._rerun = rerun
        self._overrides = overrides

    def _line(self) -> bytes:
        line = self._base.readline()
        self._next += 1
        return line.rstrip(b"\n")

    def lookup(self, index: int) -> bytes | None:
        if index >= self._count:
            return None
        while self._next < index:
            self._line()
        if index in self._rerun:
            return None
        line = self._line()
        found = self._overrides.get(index)
        return line if found is None else found


class OrderedWriter:
    """Appends rows to ``fd`` in index order, starting at ``start``."""

    def __init__(self, fd: int, start: int = 0, prior: Prior | None = None) -> None:
        self.fd = fd
        self.next = start
        """The first index not yet written."""
        self.prior = prior
        self.pending: dict[int, bytes] = {}
        self.peak = 0
        """The most rows the reorder buffer held at once."""
        self.written = 0

    def add(self, index: int, row: bytes) -> None:
        """A finished row (written at once if it is next, else buffered)."""
        self.pending[index] = row
        if len(self.pending) > self.peak:
            self.peak = len(self.pending)
        if index == self.next:
            self.flush()

    def add_many(self, rows: list[tuple[int, bytes]]) -> None:
        """Several finished rows, then one flush."""
        pending = self.pending
        for index, row in rows:
            pending[index] = row
        if len(pending) > self.peak:
            self.peak = len(pending)
        if self.next in pending or self.prior is not None:
            self.flush()

    def flush(self) -> int:
        """Write every row that is ready, in order; returns how many were written."""
        pending = self.pending
        prior = self.prior
        parts: list[bytes] = []
        index = self.next
        while True:
            row = pending.pop(index, None)
            if row is None:
                if prior is None:
                    break
                row = prior.lookup(index)
                if row is None:
                    break
            parts.append(row)
            index += 1
        count = index - self.next
        if count:
            parts.append(b"")
            write_all(self.fd, b"\n".join(parts))
            self.next = index
            self.written += count
        return count
