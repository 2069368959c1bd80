"""File → text for each knowledge source; the only module that imports pypdf and openpyxl,
each on first use (the ``knowledge`` extra)."""

from __future__ import annotations

import csv
import importlib
import json
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from .sheet_csv import sheet_csv

__all__ = ["json_to_text", "read_csv", "read_excel", "read_json", "read_pdf", "read_text"]

INSTALL_HINT = "pip install 'fastcrew[knowledge]'"


def _optional(module: str, reads: str) -> ModuleType:
    """Import ``module``, or raise ``ImportError`` naming the extra that brings it (an
    ``ImportError`` as CrewAI's, which pydantic does not fold into a ``ValidationError``)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"reading {reads} needs {module}: {INSTALL_HINT}") from exc


def read_text(path: Path) -> str:
    """The file's UTF-8 text."""
    return path.read_text(encoding="utf-8")


def read_pdf(path: Path) -> str:
    """Each page's extracted text followed by a newline; pages without text are left out."""
    pypdf = _optional("pypdf", "PDF files")
    pages = (page.extract_text() for page in pypdf.PdfReader(path).pages)
    return "".join(f"{text}\n" for text in pages if text)


def read_csv(path: Path) -> str:
    """One line per row, its cells joined by a space (a leading BOM dropped)."""
    with path.open(encoding="utf-8-sig") as file:
        return "".join(" ".join(row) + "\n" for row in csv.reader(file))


def read_json(path: Path) -> str:
    """The document flattened by :func:`json_to_text`."""
    with path.open(encoding="utf-8") as file:
        return json_to_text(json.load(file))


def json_to_text(data: Any, level: int = 0) -> str:
    """CrewAI's flattening: ``key: value`` and ``- item`` lines, two spaces per depth.

    Every entry of an object or array ends with a newline, nested ones too, so a nested
    value's lines are followed by an empty one — as CrewAI's text has them.
    """
    indent = "  " * level
    if isinstance(data, dict):
        return "".join(f"{indent}{key}: {json_to_text(v, level + 1)}\n" for key, v in data.items())
    if isinstance(data, list):
        return "".join(f"{indent}- {json_to_text(item, level + 1)}\n" for item in data)
    return str(data)


def read_excel(path: Path) -> dict[str, str]:
    """Each sheet's name → its values as CSV, the first row the header (as pandas writes it)."""
    if path.suffix.lower() == ".xls":
        raise ValueError(f"{path}: the legacy .xls format is not read; save the workbook as .xlsx")
    openpyxl = _optional("openpyxl", "Excel files")
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return {ws.title: sheet_csv(_sheet_rows(ws)) for ws in workbook}
    finally:
        workbook.close()


def _sheet_rows(sheet: Any) -> list[Sequence[Any]]:
    """A read-only sheet's rows of values, read past the size the file declares (openpyxl
    trusts that size in read-only mode, and some writers get it wrong)."""
    sheet.reset_dimensions()
    return list(sheet.iter_rows(values_only=True))
