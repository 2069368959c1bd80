"""``PDFKnowledgeSource``: PDF files, each page's text in page order (pypdf)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ..readers import read_pdf
from .base_file_knowledge_source import BaseFileKnowledgeSource

__all__ = ["PDFKnowledgeSource"]


class PDFKnowledgeSource(BaseFileKnowledgeSource):
    """PDF files, each page's text in page order (pypdf)."""

    source_type: Literal["pdf"] = "pdf"

    def load_content(self) -> dict[Path, str]:
        """Each file's text."""
        return self._read_each(read_pdf)
