"""``TextFileKnowledgeSource``: UTF-8 text files."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ..readers import read_text
from .base_file_knowledge_source import BaseFileKnowledgeSource

__all__ = ["TextFileKnowledgeSource"]


class TextFileKnowledgeSource(BaseFileKnowledgeSource):
    """UTF-8 text files."""

    source_type: Literal["text_file"] = "text_file"

    def load_content(self) -> dict[Path, str]:
        """Each file's text."""
        return self._read_each(read_text)
