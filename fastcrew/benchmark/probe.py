"""The child side of a cell (stdlib only): measure one run and report it to the parent.

A cell process prepares its crew (and warms it up), zeroes the simulator's counters, then
runs the method once under the probe: wall (``perf_counter``), CPU (``process_time`` plus
any reaped child processes, i.e. batch workers) and peak RSS (``ru_maxrss`` of this process
or its largest child). Lines for the parent start with ``MARK``; anything else a crew prints
is ignored. ``{"done": k}`` lines report progress every half second.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

__all__ = ["MARK", "Counter", "Measured", "emit", "main", "reset_sim"]

MARK = "@@fastcrew-bench "
PROGRESS_EVERY_S = 0.5

Measured = Callable[[], "dict[str, Any] | None"]
"""The measured run; what it returns (e.g. the tool's counts) joins the cell's result."""
Prepare = Callable[[dict[str, Any], Callable[[], None]], Measured]


class Counter:
    """Finished crews, ticked from any thread (a GIL-atomic list append)."""

    def __init__(self) -> None:
        self._ticks: list[None] = []

    def tick(self, *_: Any) -> None:
        self._ticks.append(None)

    def reset(self) -> None:
        self._ticks.clear()

    @property
    def value(self) -> int:
        return len(self._ticks)


def emit(obj: dict[str, Any]) -> None:
    """One line to the parent."""
    sys.stdout.write(MARK + json.dumps(obj) + "\n")
    sys.stdout.flush()


def reset_sim(base_url: str | None) -> None:
    """Zero a ``fastcrew sim``'s counters; an outside server without them is fine."""
    if not base_url:
        return
    root = base_url.rstrip("/").removesuffix("/v1")
    request = urllib.request.Request(root + "/sim/reset", data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except OSError:
        pass


def _rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024  # KiB on Linux


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(prepare: Prepare) -> None:
    """Run the cell described by ``sys.argv[1]`` (JSON) and print its measurements."""
    spec = json.loads(sys.argv[1])
    counter = Counter()
    try:
        run = prepare(spec, counter.tick)
        counter.reset()  # the warm-up does not count
        reset_sim(spec.get("base_url"))
        stop = threading.Event()

        def progress() -> None:
            while not stop.wait(PROGRESS_EVERY_S):
                emit({"done": counter.value})

        wall0, cpu0, children0 = time.perf_counter(), time.process_time(), _children_cpu()
        reporter = threading.Thread(target=progress, daemon=True)
        reporter.start()
        extra = run() or {}
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0 + _children_cpu() - children0
        stop.set()
    except BaseException as exc:  # reported, then re-raised for a non-zero exit
        emit({"error": f"{type(exc).__name__}: {exc}"[:2000]})
        raise
    result = {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": _rss_mb(), "done": counter.value}
    result.update(extra)
    emit({"result": result})
