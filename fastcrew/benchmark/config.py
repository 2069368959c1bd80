"""What a bench run is: the methods, the matrix of cells, and one cell's record (stdlib only)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from .tooling import DEFAULT_TOOL_MS

__all__ = [
    "DEFAULT_CELL_TIMEOUT_S",
    "METHODS",
    "THREADS",
    "BenchConfig",
    "Cell",
    "Method",
    "matrix",
]

Engine = Literal["fastcrew", "crewai"]
Status = Literal["ok", "timeout", "error", "interrupted"]

THREADS = min(32, (os.cpu_count() or 1) + 4)
"""asyncio's default executor size: the ceiling of ``gather(kickoff_async)``."""
DEFAULT_CELL_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class Method:
    """A kickoff method: its CLI name, its label, and what its concurrency means."""

    name: str
    label: str
    bounded: bool  # takes the matrix's concurrency values (else one cell per latency x n)
    crewai: bool  # CrewAI has it too


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("kickoff_for_each", "kickoff_for_each", bounded=False, crewai=True),
        Method("kickoff_async", "gather(kickoff_async)", bounded=False, crewai=True),
        Method("akickoff_for_each", "akickoff_for_each", bounded=True, crewai=True),
        Method("akickoff", "gather(akickoff)", bounded=True, crewai=True),
        Method("batch", "batch", bounded=True, crewai=False),
    )
}


@dataclass(slots=True, kw_only=True)
class Cell:
    """One cell: what ran (method … tool_ms) and what was measured (wall_s … peak_tools).

    ``concurrency`` is the bound on crews in flight the method was given (per worker for
    ``batch``; the thread-pool size for ``gather(kickoff_async)``; 1 for
    ``kickoff_for_each``; ``None`` for CrewAI's unbounded ``akickoff_for_each``).
    ``tool_ms`` is the tool's await for a ``--tools`` crew (``None``: the plain crew).
    ``requests`` and ``tool_calls`` are the simulator's counts over the measured run (a tools
    crew makes 2 LLM calls); ``tool_runs`` and ``peak_tools`` are counted by the tool itself
    (``None`` for batch, whose tools run in the workers).
    """

    method: str
    n: int
    latency_ms: float | None
    concurrency: int | None
    workers: int | None = None
    engine: Engine = "fastcrew"
    tool_ms: float | None = None
    status: Status = "ok"
    wall_s: float | None = None
    crews_per_s: float | None = None
    cpu_ms_per_crew: float | None = None
    peak_rss_mb: float | None = None
    peak_in_flight: int | None = None
    r429: int | None = None
    requests: int | None = None
    tool_calls: int | None = None
    tool_runs: int | None = None
    peak_tools: int | None = None
    done: int | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        """The method as people write it, e.g. ``gather(kickoff_async)``."""
        method = METHODS.get(self.method)
        return method.label if method else self.method

    def key(self) -> tuple[Any, ...]:
        """What identifies the cell apart from the engine (for side-by-side ratios)."""
        return (self.method, self.n, self.latency_ms, self.concurrency, self.workers, self.tool_ms)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True, kw_only=True)
class BenchConfig:
    """Options of ``fastcrew bench`` (see docs/benchmarks.md)."""

    methods: tuple[str, ...] = tuple(METHODS)
    n: tuple[int, ...] = (100,)
    latency_ms: tuple[float, ...] = (0.0, 200.0)
    concurrency: tuple[int, ...] = (10, 100)
    workers: tuple[int, ...] = (1, 2)
    rpm: int | None = None
    crew: str | None = None
    base_url: str | None = None
    out: str | None = "bench-results/fastcrew-bench"
    against_crewai: bool = False
    crewai_python: str | None = None
    tools: bool = False
    tool_ms: float = DEFAULT_TOOL_MS
    cell_timeout_s: float = DEFAULT_CELL_TIMEOUT_S
    plots: bool = True
    sim_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; choose from {', '.join(METHODS)}")
        for name in ("n", "concurrency", "workers"):
            values = getattr(self, name)
            if not values or any(v < 1 for v in values):
                raise ValueError(f"{name} needs values >= 1, got {values!r}")
        if not self.latency_ms or any(v < 0 for v in self.latency_ms):
            raise ValueError(f"latency_ms needs values >= 0, got {self.latency_ms!r}")
        if self.cell_timeout_s <= 0:
            raise ValueError("cell_timeout_s must be > 0")
        if self.tool_ms < 0:
            raise ValueError(f"tool_ms needs a value >= 0, got {self.tool_ms!r}")
        if self.tools and self.crew:
            raise ValueError(
                "--tools runs the bench's own tool-using crew: drop --crew (or --tools)"
            )

    @property
    def cell_tool_ms(self) -> float | None:
        """The tool's await for every cell: ``tool_ms`` with ``tools``, else None."""
        return self.tool_ms if self.tools else None


def matrix(config: BenchConfig, engine: Engine = "fastcrew") -> list[Cell]:
    """The cells to run, ordered latency → n → method → workers → concurrency.

    With ``base_url`` (an outside server) the latency is the server's: one ``None`` value.
    """
    latencies: tuple[float | None, ...] = (None,) if config.base_url else config.latency_ms
    cells: list[Cell] = []
    for latency in latencies:
        for n in config.n:
            for name in config.methods:
                method = METHODS[name]
                if engine == "crewai" and not method.crewai:
                    continue
                if name == "kickoff_for_each":
                    plans: list[tuple[int | None, int | None]] = [(1, None)]
                elif name == "kickoff_async":
                    plans = [(THREADS, None)]
                elif name == "akickoff_for_each" and engine == "crewai":
                    plans = [(None, None)]  # CrewAI's takes no bound
                elif name == "batch":
                    plans = [(c, w) for w in config.workers for c in config.concurrency]
                else:
                    plans = [(c, None) for c in config.concurrency]
                cells.extend(
                    Cell(
                        method=name,
                        n=n,
                        latency_ms=latency,
                        concurrency=c,
                        workers=w,
                        engine=engine,
                        tool_ms=config.cell_tool_ms,
                    )
                    for c, w in plans
                )
    return cells
