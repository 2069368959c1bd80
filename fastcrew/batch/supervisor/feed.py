"""The supervisor's input side: rows read in blocks off the loop, read errors named.

The reader (:class:`~fastcrew.batch.storage.inputs.LineReader`) blocks, so each block is read in a
thread. A resumed stdin stream is checked first: every row the journal finished must have
the same digest, before anything is dispatched.
"""

from __future__ import annotations

import asyncio

from ...errors import ConfigurationError, InputReadError
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
            return await asyncio.to_thread(self.reader.read, READ_ROWS)
        except Exception as exc:
            raise InputReadError(
                f"cannot read {self.inputs} after line {self.reader.line:,}: "
                f"{type(exc).__name__}: {exc}",
                path=self.inputs,
                line=self.reader.line,
            ) from exc
