"""What a bench run is: the methods, the matrix of cells, and one cell's record (stdlib only)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from .._options import check_options, option

__all__ = [
    "DEFAULT_CELL_TIMEOUT_S",
    "DEFAULT_TOOL_MS",
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
DEFAULT_TOOL_MS = 200.0
"""The await of the ``--tools`` crew's tool (``asyncio.sleep``), in ms."""


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
    (``None`` for batch, whose tools run in the workers). ``cost_per_row_usd``: the
    simulator's prompt and completion tokens over the measured run, priced at the bench
    crew's model (``gpt-4.1-mini``, genai-prices' table), ÷ ``n`` (``None`` with ``--crew``,
    whose models the bench does not know, or an outside server, which reports no tokens).
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
    cost_per_row_usd: float | None = None
    done: int | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        """The method as people write it, e.g. ``gather(kickoff_async)``."""
        method = METHODS.get(self.method)
        return method.label if method else self.method

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True, kw_only=True)
class BenchConfig:
    """Every option of ``fastcrew bench``, declared once (the command's flags are these
    fields; see docs/benchmarks.md). A list option takes comma-separated or repeated values."""

    methods: tuple[str, ...] = option(
        tuple(METHODS), help=f"Kickoff methods, of: {', '.join(METHODS)}."
    )
    n: tuple[int, ...] = option((100,), ge=1, help="Crews per cell.")
    latency_ms: tuple[float, ...] = option((0.0, 200.0), ge=0, help="Simulator latencies.")
    concurrency: tuple[int, ...] = option((10, 100), ge=1, help="Bounds on crews in flight.")
    workers: tuple[int, ...] = option((1, 2), ge=1, help="batch worker processes.")
    rpm: int | None = option(None, ge=1, help="Simulator RPM limit.")
    crew: str | None = option(None, help="path/to/file.py:name or module:name (a {topic} crew).")
    base_url: str | None = option(None, help="An outside OpenAI-compatible server instead.")
    out: str | None = option(
        "bench-results/fastcrew-bench", help="Where results.json and the plots go ('' = nowhere)."
    )
    plots: bool = option(True, help="PNG plots (needs fastcrew[plot]).")
    against_crewai: bool = option(False, help="Run CrewAI's Crew on the same matrix too.")
    crewai_python: str | None = option(None, help="Interpreter with crewai (default: this one).")
    tools: bool = option(
        False,
        help="Run a crew whose agent has one async tool (2 LLM calls per crew); excludes --crew.",
    )
    tool_ms: float = option(
        DEFAULT_TOOL_MS, ge=0, help="With --tools: the tool's await (asyncio.sleep), in ms."
    )
    cell_timeout_s: float = option(
        DEFAULT_CELL_TIMEOUT_S, gt=0, flag="--cell-timeout", help="Seconds per cell process."
    )
    sim_options: dict[str, Any] = field(default_factory=dict)
    """``--sim KEY=VALUE`` options of the simulator (``SimConfig`` fields)."""

    def __post_init__(self) -> None:
        if self.out == "":
            self.out = None
        check_options(self)
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; choose from {', '.join(METHODS)}")
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
