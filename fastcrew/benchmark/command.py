"""The Python function behind ``fastcrew bench``: parse lists, run, report, exit code."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .config import METHODS, BenchConfig

__all__ = ["EXIT_CELLS_FAILED", "EXIT_INTERRUPTED", "bench", "split"]

EXIT_CELLS_FAILED = 1
EXIT_INTERRUPTED = 130


def split(values: Iterable[str], kind: Callable[[str], Any], name: str) -> tuple[Any, ...]:
    """``("0,200", "500")`` → ``(0, 200, 500)``: repeated options and comma lists both work."""
    items = [part.strip() for value in values for part in value.split(",") if part.strip()]
    try:
        return tuple(kind(item) for item in items)
    except ValueError:
        raise ValueError(f"--{name}: expected comma-separated numbers, got {items!r}") from None


def bench(
    *,
    methods: tuple[str, ...],
    n: tuple[str, ...],
    latency_ms: tuple[str, ...],
    concurrency: tuple[str, ...],
    workers: tuple[str, ...],
    out: str | None,
    plots: bool = True,
    sim_options: dict[str, Any] | None = None,
    **options: Any,
) -> int:
    """Run ``fastcrew bench``; returns the exit code (0: every cell finished).

    Raises ``ValueError`` for bad options (the CLI turns it into a usage error)."""
    from .report import print_report
    from .runner import run_bench

    defaults = BenchConfig()
    chosen = split(methods, str, "methods") or defaults.methods
    config = BenchConfig(
        methods=chosen,
        n=split(n, int, "n") or defaults.n,
        latency_ms=split(latency_ms, float, "latency-ms") or defaults.latency_ms,
        concurrency=split(concurrency, int, "concurrency") or defaults.concurrency,
        workers=split(workers, int, "workers") or defaults.workers,
        out=out or None,
        plots=plots,
        sim_options=sim_options or {},
        **options,
    )
    result = run_bench(config)
    print_report(result)
    if result.interrupted:
        return EXIT_INTERRUPTED
    return 0 if all(c.status == "ok" for c in result.cells) else EXIT_CELLS_FAILED


METHOD_NAMES = ", ".join(METHODS)
