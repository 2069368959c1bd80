"""Where fastcrew keeps files between runs: ``$FASTCREW_STORAGE_DIR/<name>``, else a
per-project data folder, ``$XDG_DATA_HOME/fastcrew/<name of the working directory>/<name>``
(``~/.local/share/…``) — as CrewAI keeps its own under ``$CREWAI_STORAGE_DIR`` or a data folder
named after the project. Flow states, the vector stores and the embedding store use it."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["STORAGE_ENV", "data_path", "storage_dir"]

STORAGE_ENV = "FASTCREW_STORAGE_DIR"


def storage_dir() -> Path | None:
    """``$FASTCREW_STORAGE_DIR`` when set."""
    folder = os.environ.get(STORAGE_ENV)
    return Path(folder) if folder else None


def data_path(name: str) -> Path:
    """Where the file or folder ``name`` lives (see the module's docstring)."""
    folder = storage_dir()
    if folder is not None:
        return folder / name
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "fastcrew" / (Path.cwd().name or "default") / name
