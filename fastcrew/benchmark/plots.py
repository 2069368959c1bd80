"""PNG plots of a bench run (matplotlib, the optional ``plot`` extra, imported lazily here)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from .config import METHODS, Cell

__all__ = ["PlotsUnavailable", "make_plots"]

INSTALL_HINT = "plots need matplotlib: pip install 'fastcrew[plot]' (the table is complete)"


class PlotsUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise PlotsUnavailable(INSTALL_HINT) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _name(cell: Cell) -> str:
    label = cell.label if cell.engine == "fastcrew" else f"CrewAI {cell.label}"
    return f"{label} x{cell.workers}" if cell.workers else label


def _color(cell: Cell) -> str:
    """One colour per method (and batch worker count), shared by both engines."""
    order = [*METHODS, *(f"batch{w}" for w in range(1, 9))]
    key = f"batch{cell.workers}" if cell.workers else cell.method
    index = order.index(key) if key in order else len(order)
    return f"C{index % 10}"


def _tool_note(cells: list[Cell]) -> str:
    """``", tool 200 ms"`` for a ``--tools`` run, else nothing."""
    tool_ms = next((c.tool_ms for c in cells if c.tool_ms is not None), None)
    return "" if tool_ms is None else f", tool {tool_ms:g} ms"


def throughput(cells: list[Cell], path: Path) -> Path:
    """Crews/s vs concurrency, one line per method, one panel per latency (log-log)."""
    plt = _pyplot()
    latencies = sorted({c.latency_ms for c in cells}, key=lambda v: -1 if v is None else v)
    fig, axes = plt.subplots(
        1, len(latencies), figsize=(4.2 * len(latencies) + 1.8, 3.6), squeeze=False
    )
    for ax, latency in zip(axes[0], latencies, strict=True):
        lines: dict[str, list[tuple[float, float]]] = defaultdict(list)
        colors: dict[str, str] = {}
        for cell in cells:
            if cell.latency_ms == latency and cell.status == "ok" and cell.crews_per_s:
                lines[_name(cell)].append((cell.concurrency or cell.n, cell.crews_per_s))
                colors[_name(cell)] = _color(cell)
        for name, points in sorted(lines.items()):
            xs, ys = zip(*sorted(points), strict=True)
            crewai = name.startswith("CrewAI")
            ax.plot(
                xs,
                ys,
                "--" if crewai else "-",
                marker="s" if crewai else "o",
                markersize=4,
                color=colors[name],
                label=name,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        title = "outside server" if latency is None else f"latency {latency:g} ms"
        n = max((c.n for c in cells), default=0)
        ax.set_title(f"{title}, n={n}{_tool_note(cells)}", fontsize=9)
        ax.set_xlabel("concurrency bound (crews in flight)", fontsize=8)
        ax.set_ylabel("crews/s", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(handles, labels, loc="center right", fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0, 0.8, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def cpu_per_crew(cells: list[Cell], path: Path) -> Path:
    """Client CPU ms per crew per method (the lowest over its cells), horizontal bars."""
    plt = _pyplot()
    best: dict[str, float] = {}
    for cell in cells:
        if cell.status == "ok" and cell.cpu_ms_per_crew is not None:
            name = _name(cell)
            best[name] = min(best.get(name, float("inf")), cell.cpu_ms_per_crew)
    names = sorted(best, key=best.__getitem__)
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(names) + 1.2))
    colors = ["tab:orange" if n.startswith("CrewAI") else "tab:blue" for n in names]
    ax.barh(names, [best[n] for n in names], color=colors)
    for y, name in enumerate(names):
        ax.text(best[name], y, f" {best[name]:.2f}", va="center", fontsize=7)
    if best and max(best.values()) / max(min(best.values()), 1e-9) > 30:
        from matplotlib.ticker import NullFormatter

        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # 2x10^0, 3x10^0 … overlap
    what = "client CPU ms per crew (lowest cell; batch includes its workers)"
    ax.set_xlabel(what + _tool_note(cells).replace(",", ";"), fontsize=8)
    ax.tick_params(labelsize=7)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def make_plots(cells: list[Cell], out: Path) -> list[Path]:
    """``throughput.png`` and ``cpu_per_crew.png`` in ``out``; raises PlotsUnavailable."""
    _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    return [
        throughput(cells, out / "throughput.png"),
        cpu_per_crew(cells, out / "cpu_per_crew.png"),
    ]
