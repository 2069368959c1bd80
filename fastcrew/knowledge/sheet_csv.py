"""A sheet's rows of cell values as the CSV text ``pandas.read_excel(...).to_csv(index=False)``
gives (CrewAI's Excel reading), without pandas."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

__all__ = ["sheet_csv"]


def sheet_csv(rows: Sequence[Sequence[Any]]) -> str:
    """The first row the header, every later row a line; trailing empty rows dropped, and
    an empty sheet one empty line, as pandas writes them."""
    end = len(rows)
    while end and all(cell is None for cell in rows[end - 1]):
        end -= 1
    rows = rows[:end]
    width = max((_used_width(row) for row in rows), default=0)
    if not width:
        return "\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_header(rows[0], width))
    writer.writerows([_cell_text(cell) for cell in _padded(row, width)] for row in rows[1:])
    return out.getvalue()


def _used_width(row: Sequence[Any]) -> int:
    """Cells up to the last one with a value."""
    return next((i + 1 for i in range(len(row) - 1, -1, -1) if row[i] is not None), 0)


def _padded(row: Sequence[Any], width: int) -> list[Any]:
    """``row`` cut or filled with empty cells to ``width``."""
    return [*row[:width], *[None] * (width - len(row))]


def _header(row: Sequence[Any], width: int) -> list[str]:
    """Column names as pandas makes them: ``Unnamed: i`` for blanks, ``name.1`` for repeats."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(_padded(row, width)):
        name = f"Unnamed: {i}" if cell is None else _cell_text(cell)
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(f"{name}.{count}" if count else name)
    return names


def _cell_text(cell: Any) -> str:
    """A cell value as text: blank for an empty cell, a date alone for a midnight datetime."""
    if cell is None:
        return ""
    if isinstance(cell, datetime) and cell.time() == time():
        return str(cell.date())
    return str(cell)
