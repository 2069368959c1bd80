"""Where stores live: ``$FASTCREW_STORAGE_DIR/<name>``, else a per-project data folder.

CrewAI keeps its memory in ``$CREWAI_STORAGE_DIR/memory``, else in
``appdirs.user_data_dir(<project folder name>, "CrewAI")/memory``. fastcrew mirrors it with
its own name, as its flow states do: ``$FASTCREW_STORAGE_DIR/<name>``, else
``$XDG_DATA_HOME/fastcrew/<name of the working directory>/<name>`` (``~/.local/share/…``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .._storage import STORAGE_ENV, data_path

__all__ = ["STORAGE_ENV", "default_store_dir"]


def default_store_dir(name: str) -> Path:
    """The folder of the store ``name`` (one LanceDB database: a sub-folder per table)."""
    if not name or name in {".", ".."} or "/" in name or os.sep in name:
        raise ValueError(f"a store name is one folder name, not {name!r}")
    return data_path(name)
