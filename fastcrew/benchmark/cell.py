"""A fastcrew cell in its own process: ``python -m fastcrew.benchmark.cell SPEC_JSON``.

Builds the crew, warms it up with one kickoff (imports, first-use costs), then runs the
method once under :mod:`.probe`. ``batch`` starts its workers inside the measured window:
process start-up is part of its cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import probe
from .crews import build_crew
from .methods import run_method
from .probe import Measured
from .prompts import WARM_UP, inputs
from .tooling import ToolGauge

__all__ = ["prepare"]


def prepare(spec: dict[str, Any], tick: Callable[[], None]) -> Measured:
    """Build and warm up the crew; return the measured run."""
    tool_ms = spec.get("tool_ms")
    gauge = ToolGauge()
    crew = build_crew(spec.get("crew"), spec["base_url"], tool_ms=tool_ms, gauge=gauge)
    crew.after_kickoff_callbacks.append(lambda _out: tick())
    rows = inputs(spec["n"])
    crew.kickoff(WARM_UP)
    options = {
        "concurrency": spec.get("concurrency") or 1,
        "workers": spec.get("workers") or 1,
        "base_url": spec["base_url"],
        "crew_spec": spec.get("crew"),
        "rpm": spec.get("rpm"),
        "timeout": spec.get("timeout"),
        "tool_ms": tool_ms,
    }

    def measured() -> dict[str, Any] | None:
        gauge.reset()
        finished = run_method(spec["method"], crew, rows, **options)
        if finished != len(rows):
            raise RuntimeError(f"{finished} of {len(rows)} crews finished")
        if tool_ms is None or spec["method"] == "batch":  # batch's tools run in its workers
            return None
        return gauge.snapshot()

    return measured


if __name__ == "__main__":
    probe.main(prepare)
