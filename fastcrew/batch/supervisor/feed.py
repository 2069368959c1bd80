"""The supervisor's input side: rows read in blocks off the loop, read errors named.

The reader (:class:`~fastcrew.batch.storage.inputs.LineReader`) blocks, so each block is read in a
thread. A resumed stdin stream is checked first: every row the journal finished must have
the same digest, before anything is dispatched. Every row read (those a resumed run skips
included) goes through the duplicate ``custom_id`` check (:mod:`fastcrew.batch.duplicates`):
a duplicate is marked, for its worker to refuse.
"""

from __future__ import annotations

import asyncio

from ...errors import ConfigurationError, InputReadError
from ..duplicates import CustomIds, mark
from ..storage.inputs import LineReader, RawRow
from ..storage.journal import JournalState

__all__ = ["READ_ROWS", "InputFeed"]

READ_ROWS = 2048
"""Rows read per block."""


class InputFeed:
    """Blocks of input rows for the dispatcher; ``inputs`` names the input in errors."""

    def __init__(self, reader: LineReader, inputs: str, verify: JournalState | None) -> None:
        self.reader = reader
        self.inputs = inputs
        self.verify = verify
        self.custom_ids = CustomIds()

    async def first(self) -> list[RawRow]:
        """The first block of rows still to run; for a resumed stdin stream every finished
        row's digest is checked on the way (a ConfigurationError if the input changed)."""
        verify = self.verify
        rows: list[RawRow] = []
        if verify is not None:
            last = len(verify.status) - 1
            while self.reader.index <= last and not self.reader.done:
                for row in await self.read():
                    if verify.has(row.index):
                        if verify.digest[row.index] != row.digest:
                            raise ConfigurationError(
                                f"the input changed since the journal was written (line "
                                f"{row.line} differs); use --restart to start over"
                            )
                    else:
                        rows.append(row)
        rows.extend(await self.read())
        return rows

    async def read(self) -> list[RawRow]:
        """The next rows; an input that cannot be read (a truncated ``.gz``, an I/O error)
        is an :class:`InputReadError` naming where it broke."""
        try:
            return await asyncio.to_thread(self._read)
        except Exception as exc:
            raise InputReadError(
                f"cannot read {self.inputs} after line {self.reader.line:,}: "
                f"{type(exc).__name__}: {exc}",
                path=self.inputs,
                line=self.reader.line,
            ) from exc

    def _read(self) -> list[RawRow]:
        """A block of rows, duplicate ``custom_id`` s marked (blocking)."""
        rows = self.reader.read(READ_ROWS)
        check = self.custom_ids.check
        for i, row in enumerate(rows):
            if row.raw is not None and (first := check(row.raw, row.line)) is not None:
                rows[i] = row._replace(raw=mark(row.raw, first))
        return rows
