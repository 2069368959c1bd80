"""``run_bench``: the matrix, each cell in a fresh process, against a simulator per latency."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .child import CellProcess
from .config import BenchConfig, Cell, matrix
from .prompts import MODEL
from .tooling import tool_sim_options

__all__ = ["BenchResult", "run_bench"]

Log = Callable[[str], None]
CREWAI_ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
}
_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(slots=True)
class BenchResult:
    """The finished cells (fastcrew and CrewAI), where they were saved, and what to tell."""

    cells: list[Cell] = field(default_factory=list)
    interrupted: bool = False
    results_path: Path | None = None
    plots: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def engine(self, name: str) -> list[Cell]:
        return [c for c in self.cells if c.engine == name]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _crewai_missing(python: str) -> str | None:
    """Why CrewAI cannot run in ``python``, or None when it can."""
    if python == sys.executable:
        found = importlib.util.find_spec("crewai") is not None
    else:
        try:
            check = subprocess.run(
                [python, "-c", "import crewai"], capture_output=True, check=False, timeout=60
            )
        except (OSError, subprocess.TimeoutExpired):
            found = False
        else:
            found = check.returncode == 0
    if found:
        return None
    return (
        f"--against-crewai: CrewAI is not installed for {python}. Install it in a separate "
        "venv (`python -m venv /tmp/crewai && /tmp/crewai/bin/pip install crewai`) and pass "
        "--crewai-python /tmp/crewai/bin/python; the fastcrew side runs regardless."
    )


def _batch_missing() -> str | None:
    try:
        from ..batch import run_batch  # noqa: F401
    except ImportError as exc:
        return f"batch not available in this checkout ({exc}); its cells are skipped"
    return None


def _sim_stats(base_url: str) -> dict[str, Any] | None:
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        with urllib.request.urlopen(root + "/sim/stats", timeout=10) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _endpoint(config: BenchConfig, latency_ms: float | None, log: Log) -> Iterator[str]:
    """The outside ``base_url``, or a simulator in its own process at ``latency_ms``."""
    if config.base_url:
        yield config.base_url
        return
    from ..sim import spawn

    tools = tool_sim_options() if config.tools else {}
    options = {"latency_ms": latency_ms or 0.0, "rpm": config.rpm, **tools, **config.sim_options}
    with spawn(**options) as sim:
        rounds = f", tool rounds {options['tool_rounds']}" if config.tools else ""
        log(
            f"simulator at {sim.base_url}: latency {latency_ms:g} ms, "
            f"rpm {config.rpm or '-'}{rounds}"
        )
        yield sim.base_url


def _argv(cell: Cell, config: BenchConfig, base_url: str) -> tuple[list[str], dict[str, str]]:
    spec = {
        "method": cell.method,
        "n": cell.n,
        "concurrency": cell.concurrency,
        "workers": cell.workers,
        "base_url": base_url,
        "crew": config.crew,
        "rpm": config.rpm,
        "timeout": config.cell_timeout_s,
        "tool_ms": cell.tool_ms,
    }
    env = dict(os.environ)
    if cell.engine == "crewai":
        python = config.crewai_python or sys.executable
        module = "fastcrew.benchmark.crewai_cell"
        env.update(CREWAI_ENV)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PROJECT_ROOT, env.get("PYTHONPATH")]))
    else:
        python, module = sys.executable, "fastcrew.benchmark.cell"
    return [python, "-m", module, json.dumps(spec)], env


def _describe(cell: Cell) -> str:
    parts = [f"{cell.engine} {cell.label}", f"n={cell.n}"]
    if cell.latency_ms is not None:
        parts.append(f"latency={cell.latency_ms:g}ms")
    if cell.concurrency is not None:
        parts.append(f"C={cell.concurrency}")
    if cell.workers is not None:
        parts.append(f"workers={cell.workers}")
    if cell.tool_ms is not None:
        parts.append(f"tool={cell.tool_ms:g}ms")
    return " ".join(parts)


def _cost_per_row(stats: dict[str, Any], n: int, model: str) -> float | None:
    """The simulator's tokens over the run at ``model``'s price, per row (USD)."""
    from ..pricing import Prices, TokenUsage

    usage = TokenUsage(stats.get("prompt_tokens", 0), stats.get("completion_tokens", 0))
    cost = Prices().cost(model, usage)  # one model, no long-context tier: the sum is exact
    return round(cost.usd / n, 10) if cost.known else None


def _fill(
    cell: Cell,
    status: str,
    data: dict[str, Any],
    stats: dict[str, Any] | None,
    model: str | None = None,
) -> None:
    cell.status = status  # type: ignore[assignment]
    if status == "ok":
        cell.wall_s = round(data["wall_s"], 4)
        cell.crews_per_s = round(cell.n / data["wall_s"], 2) if data["wall_s"] > 0 else None
        cell.cpu_ms_per_crew = round(data["cpu_s"] / cell.n * 1000, 4)
        cell.peak_rss_mb = round(data["peak_rss_mb"], 1)
        cell.tool_runs = data.get("tool_runs")
        cell.peak_tools = data.get("peak_tools")
        cell.done = cell.n
    else:
        cell.done = data.get("done")
        cell.error = data.get("error")
    if stats is not None:
        cell.peak_in_flight = stats.get("peak_in_flight")
        cell.r429 = int(stats.get("by_status", {}).get("429", 0))
        cell.requests = stats.get("requests_total")
        if cell.tool_ms is not None:
            cell.tool_calls = int(stats.get("tool_calls", 0)) + int(stats.get("react_actions", 0))
        if status == "ok" and model is not None:
            cell.cost_per_row_usd = _cost_per_row(stats, cell.n, model)


def _run_cell(cell: Cell, config: BenchConfig, base_url: str, live: Log | None) -> None:
    argv, env = _argv(cell, config, base_url)
    process = CellProcess(argv, env)
    try:

        def progress(done: int) -> None:
            if live is not None:
                live(f"  {_describe(cell)}: {done}/{cell.n} crews")

        status, data = process.wait(config.cell_timeout_s, progress)
    finally:
        process.close()
    model = None if config.crew else MODEL  # a --crew's own models are not known here
    _fill(cell, status, data, _sim_stats(base_url), model)


def _summary(cell: Cell) -> str:
    if cell.status == "ok":
        return (
            f"{cell.wall_s:.2f} s, {cell.crews_per_s:,.0f} crews/s, "
            f"{cell.cpu_ms_per_crew:.2f} ms CPU/crew, peak in flight {cell.peak_in_flight}, "
            f"{cell.requests} LLM calls"
            + ("" if cell.peak_tools is None else f", peak tools {cell.peak_tools}")
        )
    if cell.status == "timeout":
        return f"TIMEOUT (the cell's time bound): {cell.done or 0}/{cell.n} crews done"
    return f"ERROR {(cell.error or '').splitlines()[-1] if cell.error else ''}"


def _live_printer() -> Log | None:
    if not sys.stderr.isatty():
        return None
    return lambda text: print("\r" + text.ljust(100)[:120], end="", file=sys.stderr, flush=True)


def _run_engine(
    config: BenchConfig, cells: list[Cell], result: BenchResult, log: Log, skip: set[str]
) -> None:
    live = _live_printer()
    groups: dict[float | None, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.latency_ms, []).append(cell)
    position = len(result.cells)
    total = position + len(cells)
    for latency, group in groups.items():
        with _endpoint(config, latency, log) as base_url:
            for cell in group:
                position += 1
                if cell.method in skip:
                    cell.status, cell.error = "error", "batch not available"
                    result.cells.append(cell)
                    continue
                _run_cell(cell, config, base_url, live)
                if live is not None:
                    live("")
                    print("\r", end="", file=sys.stderr)
                log(f"[{position}/{total}] {_describe(cell)}: {_summary(cell)}")
                result.cells.append(cell)


def run_bench(config: BenchConfig, *, log: Log = _stderr) -> BenchResult:
    """Run the matrix (and, with ``against_crewai``, CrewAI's side); save and plot it.

    Ctrl-C stops at once: the running cell is killed and the finished cells are kept
    (``interrupted=True``), saved and plotted as usual.
    """
    result = BenchResult()
    skip: set[str] = set()
    if "batch" in config.methods and (why := _batch_missing()):
        result.notes.append(why)
        skip.add("batch")
    engines: list[tuple[str, list[Cell]]] = [("fastcrew", matrix(config, "fastcrew"))]
    if config.against_crewai:
        why = _crewai_missing(config.crewai_python or sys.executable)
        if why:
            result.notes.append(why)
        else:
            engines.append(("crewai", matrix(config, "crewai")))
    for note in result.notes:
        log(note)
    try:
        for _, cells in engines:
            _run_engine(config, cells, result, log, skip)
    except KeyboardInterrupt:
        result.interrupted = True
        log("\ninterrupted: keeping the finished cells")
    if config.out:
        from .report import save_results

        result.results_path = save_results(result, Path(config.out))
        if config.plots and result.cells:
            from .plots import PlotsUnavailable, make_plots

            try:
                result.plots = make_plots(result.cells, Path(config.out))
            except PlotsUnavailable as exc:
                result.notes.append(str(exc))
    return result
