"""``ExcelKnowledgeSource``: .xlsx workbooks, each sheet as CSV text (openpyxl, read-only)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ..readers import read_excel
from ._file_source import FileSource

__all__ = ["ExcelKnowledgeSource"]


class ExcelKnowledgeSource(FileSource):
    """Workbooks: ``content`` maps a path to each sheet's name and CSV text."""

    source_type: Literal["excel"] = "excel"
    content: dict[Path, dict[str, str]] = Field(default_factory=dict)

    def document_texts(self) -> list[str]:
        """Each workbook's sheets, one after the other, each followed by a newline."""
        return ["".join(f"{csv}\n" for csv in sheets.values()) for sheets in self.content.values()]

    def _load_files(self) -> None:
        self.content = self._load_content()

    def _load_content(self) -> dict[Path, dict[str, str]]:
        """Each workbook's sheets as CSV."""
        return {path: read_excel(path) for path in self.safe_file_paths}
