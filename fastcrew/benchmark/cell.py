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
from .prompts import inputs

__all__ = ["prepare"]


def prepare(spec: dict[str, Any], tick: Callable[[], None]) -> Callable[[], None]:
    """Build and warm up the crew; return the measured run."""
    crew = build_crew(spec.get("crew"), spec["base_url"])
    crew.after_kickoff_callbacks.append(lambda _out: tick())
    rows = inputs(spec["n"])
    crew.kickoff(rows[0])
    options = {
        "concurrency": spec.get("concurrency") or 1,
        "workers": spec.get("workers") or 1,
        "base_url": spec["base_url"],
        "crew_spec": spec.get("crew"),
        "rpm": spec.get("rpm"),
        "timeout": spec.get("timeout"),
    }

    def measured() -> None:
        finished = run_method(spec["method"], crew, rows, **options)
        if finished != len(rows):
            raise RuntimeError(f"{finished} of {len(rows)} crews finished")

    return measured


if __name__ == "__main__":
    probe.main(prepare)
