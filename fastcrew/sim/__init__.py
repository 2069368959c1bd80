"""``fastcrew sim``: an OpenAI-compatible LLM simulator (latency, streaming, rate limits
with real 429s and headers, injected faults, tool calls, ReAct and JSON answers, counters).
See docs/simulator.md.

::

    async with fastcrew.sim.serve(rpm=600, latency_ms=50) as sim:   # in the running loop
        ...  # point an OpenAI client at sim.base_url; sim.stats()

    with fastcrew.sim.spawn(seed=1) as sim:                         # in a child process
        ...

The server module (aiohttp) is imported on first use of ``Simulator``, ``serve`` or ``run``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from .config import SimConfig

__all__ = ["SimConfig", "Simulator", "SpawnedSim", "run", "serve", "spawn"]

_LAZY = {
    "Simulator": "fastcrew.sim.server",
    "run": "fastcrew.sim.server",
    "serve": "fastcrew.sim.server",
    "SpawnedSim": "fastcrew.sim.process",
    "spawn": "fastcrew.sim.process",
}

if TYPE_CHECKING:
    from .process import SpawnedSim, spawn
    from .server import Simulator, run, serve

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
