"""``fastcrew bench``: a matrix of kickoff methods x latency x concurrency x N, each cell in a
fresh process, reported as a table, ``results.json`` and PNG plots.

Public names load lazily: the CrewAI side imports ``fastcrew.benchmark.crewai_cell`` from
another interpreter, which must not need fastcrew's dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS = {
    "METHODS": "fastcrew.benchmark.config",
    "BenchConfig": "fastcrew.benchmark.config",
    "BenchResult": "fastcrew.benchmark.runner",
    "Cell": "fastcrew.benchmark.config",
    "run_bench": "fastcrew.benchmark.runner",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .config import METHODS as METHODS
    from .config import BenchConfig as BenchConfig
    from .config import Cell as Cell
    from .runner import BenchResult as BenchResult
    from .runner import run_bench as run_bench

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
