"""Reporting: ``results.json`` and the terminal tables (the one module here importing rich)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Cell

if TYPE_CHECKING:
    from .runner import BenchResult

__all__ = ["print_report", "ratios", "save_results"]

_COLUMNS = (
    ("method", "left"),
    ("n", "right"),
    ("latency ms", "right"),
    ("C", "right"),
    ("W", "right"),
    ("wall s", "right"),
    ("crews/s", "right"),
    ("CPU ms/crew", "right"),
    ("RSS MB", "right"),
    ("in flight", "right"),
    ("LLM calls", "right"),
    ("429s", "right"),
    ("cost/row", "right"),
)
_TOOL_COLUMNS = (("tools at once", "right"),)

_SIDE_COLUMNS = (
    "n",
    "latency ms",
    "crews/s",
    "CrewAI crews/s",
    "speed-up",
    "CPU ms/crew",
    "CrewAI CPU ms",
    "CPU ratio",
    "in flight",
    "CrewAI in flight",
)
_SIDE_TOOL_COLUMNS = ("tools at once", "CrewAI tools at once")


def save_results(result: BenchResult, out: Path) -> Path:
    """Write ``out/results.json``: a list of cells (see docs/benchmarks.md)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    path.write_text(json.dumps([c.to_dict() for c in result.cells], indent=2) + "\n")
    return path


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if digits else f"{value:,.0f}"


def _usd(value: float | None) -> str:
    """A cost per row: ``$0.0000544`` (3 significant figures), ``-`` when unknown."""
    if value is None:
        return "-"
    if value <= 0:
        return "$0"
    places = max(2, 2 - math.floor(math.log10(value)))
    return f"${value:.{places}f}"


def _row(cell: Cell, tools: bool) -> list[str]:
    if cell.status != "ok":
        what = f"{cell.status} ({cell.done or 0}/{cell.n})" if cell.status == "timeout" else ""
        what = what or (cell.error or cell.status).strip().splitlines()[-1][:32]
        measured = [what, "", "", "", "", "", "", ""] + [""] * tools
    else:
        measured = [
            _num(cell.wall_s),
            _num(cell.crews_per_s, 0),
            _num(cell.cpu_ms_per_crew),
            _num(cell.peak_rss_mb, 0),
            _num(cell.peak_in_flight, 0),
            _num(cell.requests, 0),
            _num(cell.r429, 0),
            _usd(cell.cost_per_row_usd),
        ]
        if tools:
            measured.append(_num(cell.peak_tools, 0))
    return [
        cell.label,
        str(cell.n),
        _num(cell.latency_ms, 0),
        "-" if cell.concurrency is None else str(cell.concurrency),
        "-" if cell.workers is None else str(cell.workers),
        *measured,
    ]


def ratios(cells: Iterable[Cell]) -> list[dict[str, Any]]:
    """fastcrew vs CrewAI per (method, n, latency): best crews/s and lowest CPU per crew."""
    best: dict[tuple[Any, ...], dict[str, Cell]] = {}
    for cell in cells:
        if cell.status != "ok":
            continue
        key = (cell.method, cell.n, cell.latency_ms, cell.tool_ms)
        current = best.setdefault(key, {}).get(cell.engine)
        if current is None or (cell.crews_per_s or 0) > (current.crews_per_s or 0):
            best[key][cell.engine] = cell
    rows = []
    for (_method, n, latency, tool_ms), pair in best.items():
        ours, theirs = pair.get("fastcrew"), pair.get("crewai")
        if ours is None or theirs is None:
            continue
        rows.append(
            {
                "method": ours.label,
                "n": n,
                "latency_ms": latency,
                "tool_ms": tool_ms,
                "fastcrew_crews_per_s": ours.crews_per_s,
                "crewai_crews_per_s": theirs.crews_per_s,
                "speedup": round((ours.crews_per_s or 0) / (theirs.crews_per_s or 1), 2),
                "fastcrew_cpu_ms": ours.cpu_ms_per_crew,
                "crewai_cpu_ms": theirs.cpu_ms_per_crew,
                "cpu_ratio": round((theirs.cpu_ms_per_crew or 0) / (ours.cpu_ms_per_crew or 1), 1),
                "fastcrew_peak_in_flight": ours.peak_in_flight,
                "crewai_peak_in_flight": theirs.peak_in_flight,
                "fastcrew_peak_tools": ours.peak_tools,
                "crewai_peak_tools": theirs.peak_tools,
            }
        )
    return rows


def print_report(result: BenchResult, file: Any = None) -> None:
    """The cells as a table per engine, then the side-by-side ratios, then notes."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file, highlight=False)
    if not console.is_terminal:
        console.width = 160  # a log or a pipe: don't squeeze the columns to 80
    for engine, title in (("fastcrew", "fastcrew"), ("crewai", "CrewAI (same simulator)")):
        cells = result.engine(engine)
        if not cells:
            continue
        tools = any(c.tool_ms is not None for c in cells)
        if tools:
            title += f" — a crew with one async tool ({cells[0].tool_ms:g} ms)"
        table = Table(title=title, title_justify="left")
        for name, justify in (*_COLUMNS, *(_TOOL_COLUMNS if tools else ())):
            table.add_column(name, justify=justify, no_wrap=name == "method")
        for cell in cells:
            table.add_row(*_row(cell, tools))
        console.print(table)
    side = ratios(result.cells)
    if side:
        tools = any(row["tool_ms"] is not None for row in side)
        table = Table(title="fastcrew vs CrewAI (best cell of each)", title_justify="left")
        table.add_column("method", no_wrap=True)
        for name in (*_SIDE_COLUMNS, *(_SIDE_TOOL_COLUMNS if tools else ())):
            table.add_column(name, justify="right")
        for row in side:
            extra = (
                [_num(row["fastcrew_peak_tools"], 0), _num(row["crewai_peak_tools"], 0)]
                if tools
                else []
            )
            table.add_row(
                row["method"],
                str(row["n"]),
                _num(row["latency_ms"], 0),
                _num(row["fastcrew_crews_per_s"], 0),
                _num(row["crewai_crews_per_s"], 1),
                f"{row['speedup']:,.1f}x",
                _num(row["fastcrew_cpu_ms"]),
                _num(row["crewai_cpu_ms"]),
                f"{row['cpu_ratio']:,.0f}x",
                _num(row["fastcrew_peak_in_flight"], 0),
                _num(row["crewai_peak_in_flight"], 0),
                *extra,
            )
        console.print(table)
    if result.interrupted:
        console.print("[bold]interrupted[/]: the table holds the cells that finished")
    for note in result.notes:
        console.print(note)
    if result.results_path:
        console.print(f"results: {result.results_path}")
    for path in result.plots:
        console.print(f"plot: {path}")
