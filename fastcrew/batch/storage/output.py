"""Where finished rows go: the journal first, then the output in input order.

:class:`OrderedOutput` puts the journal (:mod:`~fastcrew.batch.storage.journal`) and the reorder
buffer (:class:`~fastcrew.batch.storage.ordered_writer.OrderedWriter`) behind one call,
:meth:`record`, and names storage failures: an ``OSError`` from either file (disk full, a file-size
limit, the file gone, no permission) becomes a :class:`~fastcrew.errors.StorageError` naming the
file and the errno, which stops the run (resumable: the journal holds every row recorded before). No
processes, no event loop: tested on its own."""

from __future__ import annotations

import errno as errnos
import os
from collections.abc import Iterable

from ...errors import StorageError
from .journal import Journal, record
from .ordered_writer import OrderedWriter

__all__ = ["OrderedOutput", "storage_error"]


def storage_error(path: str, exc: OSError, doing: str = "write") -> StorageError:
    """The :class:`StorageError` for ``exc`` on ``path``: the file, the OS's words, the errno."""
    code = exc.errno
    name = errnos.errorcode.get(code, "") if code is not None else ""
    what = exc.strerror or str(exc)
    where = f" ({name}, errno {code})" if name else ""
    return StorageError(f"cannot {doing} {path}: {what}{where}", path=path, errno=code)


class OrderedOutput:
    """The journal and the ordered output of one run. ``output_path`` names the file the
    writer appends to (the output, or its ``.tmp`` when a finished output is rewritten)."""

    def __init__(self, journal: Journal, writer: OrderedWriter, output_path: str) -> None:
        self.journal = journal
        self.writer = writer
        self.output_path = output_path

    @property
    def next(self) -> int:
        """The first row index not yet written to the output."""
        return self.writer.next

    @property
    def peak(self) -> int:
        """The most rows the reorder buffer held at once."""
        return self.writer.peak

    def record(self, rows: Iterable[tuple[int, str, int, bytes]]) -> None:
        """Finished rows as ``(index, status, input digest, row bytes)``: one journal write,
        then into the reorder buffer (written out as far as the order allows)."""
        lines: list[bytes] = []
        ready: list[tuple[int, bytes]] = []
        for index, status, digest, row in rows:
            lines.append(record(index, status, digest, row))
            ready.append((index, row))
        if not lines:
            return
        try:
            self.journal.append(lines)
        except OSError as exc:
            raise storage_error(self.journal.path, exc) from exc
        try:
            self.writer.add_many(ready)
        except OSError as exc:
            raise storage_error(self.output_path, exc) from exc

    def check(self) -> None:
        """Raise a :class:`StorageError` if the journal or the output was deleted or
        replaced since it was opened (writes to a deleted file succeed — and are lost), or
        the output was truncated or written to by something else."""
        try:
            self.writer.check_size()
        except OSError as exc:
            raise storage_error(self.output_path, exc) from exc
        for path, fd in ((self.journal.path, self.journal.fd), (self.output_path, self.writer.fd)):
            if fd < 0:
                continue
            opened = os.fstat(fd)
            try:
                now = os.stat(path)
            except FileNotFoundError:
                now = None
            if now is None or (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino):
                raise StorageError(
                    f"{path} was deleted or replaced during the run (ENOENT)",
                    path=path,
                    errno=errnos.ENOENT,
                )

    def flush(self) -> int:
        """Write every row that is ready; returns how many were written."""
        try:
            return self.writer.flush()
        except OSError as exc:
            raise storage_error(self.output_path, exc) from exc
