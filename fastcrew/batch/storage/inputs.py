"""Reading input lines: a file, ``-`` (stdin) or a ``.jsonl.gz``; raw bytes, never parsed here.

The supervisor reads; workers parse (in parallel). A row is one non-blank line; blank lines
are skipped but still counted in line numbers. A line longer than ``max_line_bytes`` is not
kept in memory: it is skipped as it streams past and comes out as an oversize row (its bytes
are ``None``), which becomes an error row. Each row carries a 64-bit BLAKE2b digest of its
bytes, used by the journal to check a resumed stdin stream is the same input. A UTF-8
byte-order mark at the very start of the input (as some Windows tools write) is dropped; one
anywhere else is part of its line.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
from dataclasses import dataclass
from typing import IO, NamedTuple, cast

from ..config import DEFAULT_MAX_LINE_BYTES

__all__ = [
    "STDIN",
    "InputIdentity",
    "LineReader",
    "RawRow",
    "input_identity",
    "open_input",
    "row_digest",
]

STDIN = "-"
_BLOCK = 1 << 20
_BOM = b"\xef\xbb\xbf"


class RawRow(NamedTuple):
    """One input row as read: position, 1-based line number, bytes (None = over the size
    limit, then ``size`` is its length) and digest."""

    index: int  # type: ignore[assignment]  # the field shadows tuple.index, on purpose
    line: int
    raw: bytes | None
    size: int
    digest: int


def row_digest(raw: bytes) -> int:
    """A 64-bit digest of a line's bytes."""
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


def open_input(path: str) -> IO[bytes]:
    """A binary stream of the input: stdin for ``-``, transparently gunzipped for ``.gz``."""
    if path == STDIN:
        return sys.stdin.buffer
    if path.endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb", buffering=0)


class LineReader:
    """Splits a binary stream into :class:`RawRow` s, ``read(n)`` at a time (blocking)."""

    def __init__(self, stream: IO[bytes], *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES):
        self._stream = stream
        self.max_line_bytes = max_line_bytes
        self._buf = b""
        self._pos = 0
        self._eof = False
        self._start = True
        """Whether a byte-order mark may still be at the start of the buffer."""
        self.index = 0
        """The index the next row will get (= rows read so far)."""
        self.line = 0
        """Lines read so far (blank ones included)."""
        self.bytes_read = 0

    @property
    def done(self) -> bool:
        """True once the stream has ended and every row has been returned."""
        return self._eof and self._pos >= len(self._buf)

    def _fill(self) -> bool:
        chunk = self._stream.read(_BLOCK)
        if not chunk:
            self._eof = True
            return False
        self.bytes_read += len(chunk)
        rest = self._buf[self._pos :]
        self._buf = rest + chunk if rest else chunk
        self._pos = 0
        if self._start:
            self._strip_bom()
        return True

    def _strip_bom(self) -> None:
        """Drop a UTF-8 byte-order mark at the start of the input (reading on if the first
        read returned only part of one)."""
        while len(self._buf) < len(_BOM) and _BOM.startswith(self._buf):
            chunk = self._stream.read(_BLOCK)
            if not chunk:
                self._eof = True
                break
            self.bytes_read += len(chunk)
            self._buf += chunk
        self._start = False
        if self._buf.startswith(_BOM):
            self._buf = self._buf[len(_BOM) :]

    def _emit(self, out: list[RawRow], line: bytes) -> None:
        self.line += 1
        if not line.strip():
            return
        out.append(RawRow(self.index, self.line, line, len(line), row_digest(line)))
        self.index += 1

    def _skip_long(self, out: list[RawRow]) -> None:
        """The current line is over the limit: drop it as it streams past, keep its size."""
        size = len(self._buf) - self._pos
        hasher = hashlib.blake2b(self._buf[self._pos :], digest_size=8)
        self._buf, self._pos = b"", 0
        while True:
            chunk = self._stream.read(_BLOCK)
            if not chunk:
                self._eof = True
                break
            self.bytes_read += len(chunk)
            nl = chunk.find(b"\n")
            if nl >= 0:
                size += nl
                hasher.update(chunk[:nl])
                self._buf = chunk[nl + 1 :]
                break
            size += len(chunk)
            hasher.update(chunk)
        self.line += 1
        digest = int.from_bytes(hasher.digest(), "big")
        out.append(RawRow(self.index, self.line, None, size, digest))
        self.index += 1

    def read(self, limit: int) -> list[RawRow]:
        """Up to ``limit`` rows (fewer only at the end of the input)."""
        out: list[RawRow] = []
        limit_bytes = self.max_line_bytes
        while len(out) < limit:
            buf, pos = self._buf, self._pos
            nl = buf.find(b"\n", pos)
            if nl >= 0:
                if nl - pos > limit_bytes:
                    self.line += 1
                    raw = buf[pos:nl]
                    out.append(RawRow(self.index, self.line, None, len(raw), row_digest(raw)))
                    self.index += 1
                else:
                    self._emit(out, buf[pos:nl])
                self._pos = nl + 1
                continue
            if self._eof:
                if pos < len(buf):
                    line = buf[pos:]
                    self._pos = len(buf)
                    if len(line) > limit_bytes:
                        self.line += 1
                        out.append(RawRow(self.index, self.line, None, len(line), row_digest(line)))
                        self.index += 1
                    else:
                        self._emit(out, line)
                break
            if len(buf) - pos > limit_bytes:
                self._skip_long(out)
                continue
            self._fill()
        return out

    def close(self) -> None:
        """Close the stream (not stdin)."""
        if self._stream is not sys.stdin.buffer:
            self._stream.close()


@dataclass(frozen=True, slots=True)
class InputIdentity:
    """What the journal remembers of an input file: its path, size and SHA-256.

    ``lines`` is the number of newline characters (a progress estimate; None for gzip).
    """

    path: str
    size: int | None
    sha256: str | None
    lines: int | None

    def to_json(self) -> dict[str, object]:
        """The journal header's ``input`` object."""
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


def input_identity(path: str) -> InputIdentity:
    """Hash an input file (its bytes on disk, compressed or not); stdin has no identity."""
    if path == STDIN:
        return InputIdentity(path, None, None, None)
    hasher = hashlib.sha256()
    lines = 0
    size = 0
    count = not path.endswith(".gz")
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(_BLOCK):
            hasher.update(chunk)
            size += len(chunk)
            if count:
                lines += chunk.count(b"\n")
    if count and size:
        with open(path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                lines += 1
    return InputIdentity(os.path.abspath(path), size, hasher.hexdigest(), lines if count else None)
