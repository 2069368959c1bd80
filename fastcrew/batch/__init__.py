"""``fastcrew batch``: a multiprocess, sharded executor with one global RPM/TPM budget and
ordered, crash-safe, resumable JSONL output. See docs/batch.md, docs/output.md, docs/cli.md.

Submodules are imported on first use: the supervisor never loads the crew runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

__all__ = ["BatchConfig", "BatchResult", "run_batch"]

_LAZY = {
    "BatchConfig": "fastcrew.batch.config",
    "BatchResult": "fastcrew.batch.config",
    "run_batch": "fastcrew.batch.api",
}

if TYPE_CHECKING:
    from .api import run_batch
    from .config import BatchConfig, BatchResult

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
