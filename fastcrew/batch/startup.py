"""Where a batch worker's start-up time went (sent to the supervisor in its ``hello``).

A worker measures its phases as a dict of plain values (cheap to pickle)::

    {"python_s": 0.48,      # process start → worker_main (interpreter + fastcrew imports);
                            #   None off Linux and in a Ray actor's thread
     "waited_s": 0.9,       # idle: waiting for the supervisor's config (not a cost)
     "import_s": 4.6,       # importing the crew / flow module (None: no crew nor flow)
     "build_s": 0.2,        # calling the factory / @CrewBase class, or loading the Flow class
     "imported": ["crewai", "chromadb", ...]}   # what that import brought in, heaviest first

The supervisor keeps the first breakdown of each slot; the summary reports the slowest
(:func:`slowest`). Nothing heavy is imported here: both sides load this module.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

__all__ = ["IMPORTED_MAX", "new_packages", "process_age_s", "slowest", "timed", "total_s"]

IMPORTED_MAX = 5
"""At most this many packages are named in ``imported``."""

_COSTS = ("python_s", "import_s", "build_s")
"""The phases that are start-up cost (``waited_s`` is idle time)."""

T = TypeVar("T")


def process_age_s() -> float | None:
    """Seconds since this process started, from ``/proc/self/stat`` and ``/proc/uptime``
    (Linux; None elsewhere or if unreadable). Clock-tick resolution (usually 10 ms)."""
    try:
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        # Field 2 (the command name) may hold spaces and parentheses: count after the last ")".
        # The fields after it start at field 3; the start time (clock ticks after boot) is 22.
        start_ticks = int(stat[stat.rindex(b")") + 2 :].split()[22 - 3])
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return round(max(0.0, uptime - start_ticks / ticks), 3)


def timed(work: Callable[[], T]) -> tuple[T, float]:
    """``work()`` and the seconds it took."""
    started = time.perf_counter()
    result = work()
    return result, round(time.perf_counter() - started, 3)


def new_packages(before: Iterable[str], limit: int = IMPORTED_MAX) -> list[str]:
    """The top-level packages in ``sys.modules`` that were not among the module names
    ``before``, heaviest first (by how many of their modules are loaded), at most ``limit``.

    The standard library, private names (``_cffi_backend``) and the modules fastcrew imports
    spec files as (``fastcrew_crew_*``) are left out: this names the third-party culprits.
    """
    seen = set(before)
    stdlib = sys.stdlib_module_names
    counts: Counter[str] = Counter()
    for name in list(sys.modules):
        top = name.partition(".")[0]
        if top in seen or top in stdlib or top.startswith(("_", "fastcrew_")):
            continue
        counts[top] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [name for name, _ in ranked[:limit]]


def total_s(breakdown: dict[str, Any]) -> float:
    """The start-up cost of one breakdown: ``python_s + import_s + build_s`` (None as 0)."""
    return round(sum(breakdown.get(name) or 0.0 for name in _COSTS), 3)


def slowest(breakdowns: Iterable[dict[str, Any]], kind: str | None) -> dict[str, Any] | None:
    """The summary's ``startup`` entry: the slowest breakdown (by :func:`total_s`) with its
    ``total_s``, ``kind`` (``"crew"``, ``"flow"`` or None: what was imported) and
    ``workers`` (how many were measured); None if no worker reported one."""
    measured = list(breakdowns)
    if not measured:
        return None
    worst = max(measured, key=total_s)
    return {"total_s": total_s(worst), **worst, "kind": kind, "workers": len(measured)}
