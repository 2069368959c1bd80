"""File paths shared by the file sources: CrewAI's ``file_paths`` / deprecated ``file_path``."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from pydantic import Field

from ..paths import check_file, resolve_knowledge_path
from .base_knowledge_source import BaseKnowledgeSource

__all__ = ["FileSource"]

FilePaths = Path | list[Path] | str | list[str] | None


class FileSource(BaseKnowledgeSource, ABC):
    """A source read from files: resolves and checks the paths, then loads them once."""

    file_path: FilePaths = Field(
        default=None, description="Deprecated: the path to the file; use file_paths."
    )
    file_paths: FilePaths = Field(default_factory=list, description="The paths to the files.")
    safe_file_paths: list[Path] = Field(default_factory=list)

    def model_post_init(self, context: Any, /) -> None:
        """Resolve and check the paths, then load the files."""
        self.safe_file_paths = self._process_file_paths()
        self.validate_content()
        self._load_files()

    @abstractmethod
    def _load_files(self) -> None:
        """Read ``safe_file_paths`` into ``content``."""

    def validate_content(self) -> None:
        """Raise ``FileNotFoundError`` for a path that is not a readable file."""
        for path in self.safe_file_paths:
            check_file(path)

    def convert_to_path(self, path: Path | str) -> Path:
        """A ``str`` is relative to the ``knowledge`` directory; a ``Path`` stays as given."""
        return resolve_knowledge_path(path)

    def _process_file_paths(self) -> list[Path]:
        """``file_paths`` (or the deprecated ``file_path``) as a list of resolved paths."""
        if self.file_path is not None:
            warnings.warn(
                "'file_path' is deprecated, use 'file_paths'", DeprecationWarning, stacklevel=4
            )
            self.file_paths = self.file_path
        if self.file_paths is None:
            raise ValueError("Either file_path or file_paths must be provided")
        paths = [self.file_paths] if isinstance(self.file_paths, str | Path) else self.file_paths
        if not paths:
            raise ValueError("file_path/file_paths must be a Path, str, or a list of these types")
        return [self.convert_to_path(path) for path in paths]
