"""The crash-safe journal: every finished row, appended the moment it arrives.

One file beside the output (``results.jsonl.journal``), JSON lines, written only by the
supervisor with ``os.write`` on an ``O_APPEND`` descriptor (one write per batch of rows), so a
``kill -9`` at any moment leaves every earlier record intact and at most a torn last line,
which :func:`scan` cuts off. No fsync per row (page cache survives a process kill, not a
power cut); :meth:`Journal.sync` runs at the end of a run and when it is interrupted.

::

    {"fastcrew_journal": 1, "input": {"path": ..., "size": ..., "sha256": ...}}   header
    {"i": 7, "s": "ok", "h": "0123456789abcdef", "row": {...}, "c": "89abcdef"}  a finished row
    {"complete": 1000}                                                            compacted

``i`` is the row index, ``s`` its status, ``h`` the 64-bit digest of its input line, ``row``
the output row exactly as written to the results file, ``c`` the CRC-32 of the record's bytes
before ``,"c":``. A record that fails its check (a flipped byte, two records merged by a lost
newline) is skipped by :func:`scan` and counted in ``corrupt``: its row is not finished and
runs again, it never reaches the output. (Records of older journals, without ``c``, must parse
as JSON.) When a run completes, the journal is compacted to its header and a ``complete``
record; later records (``--retry-failed``) override the rows of the finished output.
"""

from __future__ import annotations

import os
import re
import zlib
from array import array
from dataclasses import dataclass, field
from typing import Any

from ..._json import JSONDecodeError, dumps, loads

__all__ = ["VERSION", "Journal", "JournalError", "JournalState", "compact", "scan", "write_all"]

VERSION = 1
_RECORD = re.compile(rb'\{"i":(\d+),"s":"(ok|error)","h":"([0-9a-f]{16})","row":')
OK, ERROR = 1, 2
_STATUS = {b"ok": OK, b"error": ERROR}
_CHECK = re.compile(rb',"c":"([0-9a-f]{8})"\}\n\Z')
_CHECK_LEN = 17  # len(b',"c":"01234567"}\n')
_OLD_KEYS = frozenset(("i", "s", "h", "row"))


class JournalError(Exception):
    """The journal is unreadable or belongs to something else."""


def record(index: int, status: str, digest: int, row: bytes) -> bytes:
    """One journal line (checksummed)."""
    body = b'{"i":%d,"s":"%s","h":"%016x","row":%s' % (index, status.encode(), digest, row)
    return body + b',"c":"%08x"}\n' % zlib.crc32(body)


def _row_end(line: bytes) -> int:
    """Where the row of a record line ends, or -1 if the line fails its check."""
    check = _CHECK.search(line, len(line) - _CHECK_LEN)
    if check is not None:
        end = len(line) - _CHECK_LEN
        return end if zlib.crc32(line[:end]) == int(check.group(1), 16) else -1
    try:  # a record of an older journal, without a checksum: it must parse
        obj = loads(line)
    except JSONDecodeError:
        return -1
    return len(line) - 2 if isinstance(obj, dict) and obj.keys() == _OLD_KEYS else -1


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte of ``data`` is written."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Journal:
    """An open journal, appended to with single ``os.write`` calls."""

    def __init__(self, path: str, header: dict[str, Any] | None = None) -> None:
        """Open ``path`` for appending; with ``header``, create it anew with that header."""
        self.path = path
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        if header is not None:
            flags |= os.O_TRUNC
        self.fd = os.open(path, flags, 0o644)
        if header is not None:
            write_all(self.fd, dumps(header) + b"\n")

    def append(self, lines: list[bytes]) -> None:
        """Append already-built :func:`record` lines in one write."""
        if lines:
            write_all(self.fd, b"".join(lines) if len(lines) > 1 else lines[0])

    def sync(self) -> None:
        """fsync the journal."""
        os.fsync(self.fd)

    def close(self) -> None:
        """Close the descriptor (idempotent)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def header(input_json: dict[str, Any]) -> dict[str, Any]:
    """The first line of a new journal."""
    return {"fastcrew_journal": VERSION, "input": input_json}


@dataclass
class JournalState:
    """What a journal holds: per row index, the latest record's status, row position and
    input digest. For a compacted journal, ``complete`` is the row count of the finished
    output and the arrays hold only the records after it (the overrides)."""

    header: dict[str, Any]
    complete: int | None = None
    status: bytearray = field(default_factory=bytearray)
    offset: array[int] = field(default_factory=lambda: array("q"))
    length: array[int] = field(default_factory=lambda: array("q"))
    digest: array[int] = field(default_factory=lambda: array("Q"))
    records: int = 0
    duplicates: int = 0
    repaired_bytes: int = 0
    corrupt: int = 0
    """Record lines that failed their check (skipped: their rows run again)."""

    def _grow(self, index: int) -> None:
        missing = index + 1 - len(self.status)
        if missing > 0:
            self.status.extend(bytes(missing))
            self.offset.extend([-1] * missing)
            self.length.extend([0] * missing)
            self.digest.extend([0] * missing)

    def add(self, index: int, status: int, offset: int, length: int, digest: int) -> None:
        """Record a row (a later record for the same index wins)."""
        self._grow(index)
        if self.status[index]:
            self.duplicates += 1
        self.status[index] = status
        self.offset[index] = offset
        self.length[index] = length
        self.digest[index] = digest
        self.records += 1

    def has(self, index: int) -> bool:
        """Whether a record exists for ``index``."""
        return index < len(self.status) and self.status[index] != 0

    def counts(self) -> tuple[int, int]:
        """(ok, error) rows recorded."""
        return self.status.count(OK), self.status.count(ERROR)


def scan(path: str) -> JournalState:
    """Read a journal (streaming), cutting off a torn last line (the file is truncated in
    place). Rows never contain a raw newline, so a line is complete iff it ends with one."""
    with open(path, "rb") as f:
        first = f.readline()
        if not first.endswith(b"\n"):
            raise JournalError(f"{path} is empty or holds no complete header")
        try:
            head = loads(first)
        except JSONDecodeError:
            raise JournalError(f"{path} does not start with a fastcrew journal header") from None
        if not isinstance(head, dict) or head.get("fastcrew_journal") != VERSION:
            raise JournalError(f"{path} is not a fastcrew journal (version {VERSION})")
        state = JournalState(header=head)
        pos = len(first)
        match = _RECORD.match
        for line in f:
            if not line.endswith(b"\n"):
                state.repaired_bytes = len(line)
                break
            m = match(line)
            if m is not None:
                start = m.end()
                end = _row_end(line)
                if end > start:
                    state.add(
                        int(m.group(1)),
                        _STATUS[m.group(2)],
                        pos + start,
                        end - start,
                        int(m.group(3), 16),
                    )
                else:
                    state.corrupt += 1
            elif line.startswith(b'{"i":'):
                state.corrupt += 1
            elif line.startswith(b'{"complete":'):
                try:
                    state.complete = int(loads(line)["complete"])
                except (JSONDecodeError, KeyError, TypeError, ValueError):
                    raise JournalError(
                        f"{path}: unreadable completion record at byte {pos}; use --restart"
                    ) from None
                state.status = bytearray()
                state.offset = array("q")
                state.length = array("q")
                state.digest = array("Q")
                state.records = state.duplicates = state.corrupt = 0
            else:
                raise JournalError(f"{path}: unreadable record at byte {pos}; use --restart")
            pos += len(line)
    if state.repaired_bytes:
        with open(path, "r+b") as f:
            f.truncate(pos)
    return state


def compact(path: str, head: dict[str, Any], rows: int) -> None:
    """Replace the journal by its header and a ``complete`` record (atomically)."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, dumps(head) + b"\n" + dumps({"complete": rows}) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    sync_dir(path)


def sync_dir(path: str) -> None:
    """fsync the directory holding ``path`` (makes a rename durable)."""
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
