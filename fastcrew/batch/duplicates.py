"""Duplicate ``custom_id`` s in OpenAI Batch-API input: the second and later lines with a
``custom_id`` already seen are refused (an error row, no provider call), as OpenAI refuses a
batch file holding duplicates; the batch goes on.

The supervisor's input feed checks every row it reads (:class:`CustomIds`), rows a resumed
run skips included, so a duplicate of a row finished in an earlier run is still refused. A
refused row travels to a worker as its line plus ``\\n`` + the first line's number
(:func:`mark`): an input line never holds a newline (the reader splits on them), so no input
can pose as a mark. The worker answers it with :func:`~fastcrew.batch.openai_rows.duplicate_row`.

Memory: one 64-bit digest and a line number per distinct ``custom_id`` — about 120 bytes per
row in CPython (6 MB for OpenAI's cap of 50,000 requests, 120 MB for a million rows).
"""

from __future__ import annotations

import hashlib

from .._json import JSONDecodeError, loads
from .members import member_text

__all__ = ["CustomIds", "mark", "unmark"]

_KEY = b'"custom_id"'
_ESCAPE = b"\\u"
"""A ``\\u`` escape could spell the key: such lines are parsed too."""
_MARK = b"\n"


def mark(raw: bytes, first_line: int) -> bytes:
    """``raw`` marked as a duplicate of the row on ``first_line``."""
    return b"%b\n%d" % (raw, first_line)


def unmark(raw: bytes) -> tuple[bytes, int | None]:
    """(the line, the first line's number if it was marked a duplicate)."""
    cut = raw.rfind(_MARK)
    if cut < 0:
        return raw, None
    return raw[:cut], int(raw[cut + 1 :])


def _digest(raw: bytes) -> int | None:
    """The digest of the line's ``custom_id`` if it is an OpenAI Batch-API line (an object
    with ``custom_id`` and ``body``), else None. Strings compare by value (escapes
    resolved); other values by their JSON text (big integers parse as lossy floats)."""
    try:
        obj = loads(raw)
    except JSONDecodeError:
        return None  # the worker reports the line
    if type(obj) is not dict or "custom_id" not in obj or "body" not in obj:
        return None
    value = obj["custom_id"]
    if type(value) is str:
        key = b"s" + value.encode("utf-8", "surrogatepass")
    else:
        key = b"j" + (member_text(raw, "custom_id") or b"")
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


class CustomIds:
    """The ``custom_id`` s seen so far: digest → the line it was first seen on."""

    def __init__(self) -> None:
        self.first: dict[int, int] = {}

    def check(self, raw: bytes, line: int) -> int | None:
        """The line that first used this row's ``custom_id`` if it is a duplicate, else None
        (and the row's ``custom_id``, if any, is now seen)."""
        if _KEY not in raw and _ESCAPE not in raw:
            return None
        digest = _digest(raw)
        if digest is None:
            return None
        first = self.first.setdefault(digest, line)
        return None if first == line else first
