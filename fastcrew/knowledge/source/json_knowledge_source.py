"""``JSONKnowledgeSource``: JSON files flattened to indented ``key: value`` / ``- item`` lines."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ..readers import read_json
from .base_file_knowledge_source import BaseFileKnowledgeSource

__all__ = ["JSONKnowledgeSource"]


class JSONKnowledgeSource(BaseFileKnowledgeSource):
    """JSON files flattened to indented ``key: value`` / ``- item`` lines."""

    source_type: Literal["json"] = "json"

    def load_content(self) -> dict[Path, str]:
        """Each file's text."""
        return self._read_each(read_json)
