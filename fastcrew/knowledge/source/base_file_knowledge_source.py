"""``BaseFileKnowledgeSource``: CrewAI's base for sources read from files into text."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from pydantic import Field

from ._file_source import FileSource

__all__ = ["BaseFileKnowledgeSource"]


class BaseFileKnowledgeSource(FileSource, ABC):
    """Files read into one text each: ``content`` maps a path to its text."""

    content: dict[Path, str] = Field(default_factory=dict)

    @abstractmethod
    def load_content(self) -> dict[Path, str]:
        """Each of ``safe_file_paths`` → its text."""

    def document_texts(self) -> list[str]:
        """Each file's text, in the order the paths were given."""
        return list(self.content.values())

    def _load_files(self) -> None:
        self.content = self.load_content()

    def _read_each(self, read: Callable[[Path], str]) -> dict[Path, str]:
        """``read`` applied to every path."""
        return {path: read(path) for path in self.safe_file_paths}
