"""``CSVKnowledgeSource``: CSV files, a line per row with its cells joined by spaces."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ..readers import read_csv
from .base_file_knowledge_source import BaseFileKnowledgeSource

__all__ = ["CSVKnowledgeSource"]


class CSVKnowledgeSource(BaseFileKnowledgeSource):
    """CSV files, a line per row with its cells joined by spaces."""

    source_type: Literal["csv"] = "csv"

    def load_content(self) -> dict[Path, str]:
        """Each file's text."""
        return self._read_each(read_csv)
