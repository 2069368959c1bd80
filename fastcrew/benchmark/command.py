"""The Python function behind ``fastcrew bench``: run, report, exit code."""

from __future__ import annotations

from .config import BenchConfig

__all__ = ["EXIT_CELLS_FAILED", "EXIT_INTERRUPTED", "bench"]

EXIT_CELLS_FAILED = 1
EXIT_INTERRUPTED = 130


def bench(config: BenchConfig) -> int:
    """Run ``fastcrew bench``; returns the exit code (0: every cell finished)."""
    from .report import print_report
    from .runner import run_bench

    result = run_bench(config)
    print_report(result)
    if result.interrupted:
        return EXIT_INTERRUPTED
    return 0 if all(c.status == "ok" for c in result.cells) else EXIT_CELLS_FAILED
