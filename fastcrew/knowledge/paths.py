"""Where a knowledge file is read from, as CrewAI resolves it."""

from __future__ import annotations

from pathlib import Path

__all__ = ["KNOWLEDGE_DIRECTORY", "check_file", "resolve_knowledge_path"]

KNOWLEDGE_DIRECTORY = "knowledge"
"""A ``str`` file path is relative to this directory of the working directory."""


def resolve_knowledge_path(path: str | Path) -> Path:
    """``"a.txt"`` → ``knowledge/a.txt``; a ``Path`` (or an absolute ``str``) as given."""
    if isinstance(path, Path):
        return path
    return Path(KNOWLEDGE_DIRECTORY) / path


def check_file(path: Path) -> None:
    """Raise ``FileNotFoundError`` / ``IsADirectoryError`` naming where ``path`` was looked for."""
    if not path.exists():
        raise FileNotFoundError(
            f"File not found: {path} (looked at {path.absolute()}). A file path given as a "
            f"str is read from the '{KNOWLEDGE_DIRECTORY}' directory of the working directory; "
            "give a pathlib.Path to read a file from anywhere else."
        )
    if not path.is_file():
        raise IsADirectoryError(f"Not a file: {path} (looked at {path.absolute()})")
