"""The ordered writer: results come back in any order, the output gets them in input order.

Rows finished by workers wait in a reorder buffer until every row before them is written;
the supervisor never dispatches a row more than ``window`` rows ahead of the first unwritten
one, so the buffer holds at most ``window`` rows (in flight + finished early). Rows finished
in an earlier run come from a :class:`Prior` (the journal, or the previous output file when
``--retry-failed`` rewrites it) and are read only when their turn comes; runs of untouched rows
of a previous output are copied as byte ranges, and every write is at most ``SLICE`` bytes, so
memory stays flat whatever the output's size.

The writer knows how many bytes the file must hold (``offset``): before each write it checks
the file's size (one ``fstat``), so an output truncated or cut by something else during the
run stops it (an ``OSError``, EIO) instead of silently losing rows.
"""

from __future__ import annotations

import bisect
import errno
import os
from collections.abc import Mapping, Set
from typing import Protocol

from .journal import JournalState, write_all

__all__ = ["SLICE", "BaseFilePrior", "JournalPrior", "OrderedWriter", "Prior", "copy_range"]

SLICE = 1 << 20
"""The most bytes written (or copied) at once."""


def copy_range(src: int, offset: int, length: int, dst: int) -> None:
    """Append ``length`` bytes of ``src`` from ``offset`` to ``dst``, ``SLICE`` at a time."""
    end = offset + length
    while offset < end:
        data = os.pread(src, min(SLICE, end - offset), offset)
        if not data:
            raise OSError(errno.EIO, f"the file ended {end - offset:,} bytes early")
        write_all(dst, data)
        offset += len(data)


class Prior(Protocol):
    """Rows finished before this run; asked for indices in increasing order."""

    def lookup(self, index: int) -> bytes | None:
        """The row for ``index``, or None when this run must produce it."""
        ...

    def span(self, index: int) -> tuple[int, int, int, int] | None:
        """``(rows, fd, offset, length)`` when rows ``index, index + 1, ...`` are the bytes
        ``offset .. offset + length`` of ``fd`` (whole lines), else None."""
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

    def span(self, index: int) -> None:
        return None


class BaseFilePrior:
    """The ``count`` rows of a finished output file (descriptor ``fd``): ``rerun`` rows are
    produced again, ``overrides`` (index → row) replace the file's row, the rows between are
    copied as byte ranges. ``starts`` maps row indices to their byte offsets in the file: at
    least 0, ``count`` (the file's end) and every rerun or overridden index and the next."""

    def __init__(
        self,
        fd: int,
        count: int,
        rerun: Set[int],
        overrides: Mapping[int, bytes],
        starts: Mapping[int, int],
    ) -> None:
        self._fd = fd
        self._count = count
        self._rerun = rerun
        self._overrides = overrides
        self._starts = starts
        self._special = sorted(set(rerun) | set(overrides))

    def lookup(self, index: int) -> bytes | None:
        if index >= self._count or index in self._rerun:
            return None
        return self._overrides.get(index)

    def span(self, index: int) -> tuple[int, int, int, int] | None:
        if index >= self._count or index in self._rerun or index in self._overrides:
            return None
        special = self._special
        at = bisect.bisect_left(special, index)
        stop = special[at] if at < len(special) else self._count
        start = self._starts[index]
        return stop - index, self._fd, start, self._starts[stop] - start


class OrderedWriter:
    """Appends rows to ``fd`` in index order, starting at row ``start``; the file holds
    ``offset`` bytes when the writer starts."""

    def __init__(
        self, fd: int, start: int = 0, prior: Prior | None = None, offset: int = 0
    ) -> None:
        self.fd = fd
        self.next = start
        """The first index not yet written."""
        self.offset = offset
        """The bytes the file must hold (what this writer and the file's prefix wrote)."""
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

    def check_size(self) -> None:
        """Raise ``OSError`` (EIO) unless the file holds exactly what was written to it."""
        size = os.fstat(self.fd).st_size
        if size != self.offset:
            raise OSError(
                errno.EIO,
                f"the file is {size:,} bytes but {self.offset:,} were written to it: something "
                "else truncated or wrote to it during the run",
            )

    def flush(self) -> int:
        """Write every row that is ready, in order (``SLICE`` bytes at most per write);
        returns how many were written."""
        pending = self.pending
        prior = self.prior
        parts: list[bytes] = []
        size = 0
        first = index = self.next
        while True:
            row = pending.pop(index, None)
            if row is None:
                if prior is None:
                    break
                span = prior.span(index)
                if span is not None:
                    if parts:
                        self._write(parts, index, size)
                        parts, size = [], 0
                    self._copy(index, *span)
                    index = self.next
                    continue
                row = prior.lookup(index)
                if row is None:
                    break
            parts.append(row)
            size += len(row) + 1
            index += 1
            if size >= SLICE:
                self._write(parts, index, size)
                parts, size = [], 0
        if parts:
            self._write(parts, index, size)
        return index - first

    def _write(self, parts: list[bytes], index: int, size: int) -> None:
        """Write ``parts`` (the rows up to ``index``), after checking the file's size."""
        self.check_size()
        parts.append(b"")
        write_all(self.fd, b"\n".join(parts))
        self.offset += size
        self.written += index - self.next
        self.next = index

    def _copy(self, index: int, rows: int, src: int, offset: int, length: int) -> None:
        self.check_size()
        copy_range(src, offset, length, self.fd)
        self.offset += length
        self.written += rows
        self.next = index + rows
