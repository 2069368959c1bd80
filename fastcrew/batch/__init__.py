"""``fastcrew batch``: a multiprocess, sharded executor with one global RPM/TPM budget and
ordered, crash-safe, resumable JSONL output. See docs/batch.md, docs/output.md, docs/cli.md.

Submodules are imported on first use: the supervisor never loads the crew runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["BatchConfig", "BatchResult", "run_batch"]

_LAZY = {
    "BatchConfig": "fastcrew.batch.config",
    "BatchResult": "fastcrew.batch.config",
    "run_batch": "fastcrew.batch.api",
}

if TYPE_CHECKING:
    from .api import run_batch
    from .config import BatchConfig, BatchResult


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastcrew.batch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
