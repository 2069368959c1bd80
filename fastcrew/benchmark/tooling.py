"""The tool of ``fastcrew bench --tools``, shared by the fastcrew and the CrewAI side (stdlib
only: the CrewAI side runs in another interpreter).

Each side wraps :func:`lookup_function`'s coroutine function in its own ``@tool``
(``fastcrew.tools.tool`` / ``crewai.tools.tool``). The tool awaits ``asyncio.sleep`` for the
configured time and counts itself in a :class:`ToolGauge` (thread-safe: CrewAI runs async
tools through ``asyncio.run`` in worker threads), so a cell can report how many tool calls
ran and how many overlapped.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = [
    "TOOL_NAME",
    "ToolGauge",
    "lookup_function",
    "tool_sim_options",
]

TOOL_NAME = "Topic notes"


class ToolGauge:
    """Tool calls made, running now, and the most that ran at once (any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.running = 0
        self.peak = 0

    def enter(self) -> None:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.peak = max(self.peak, self.running)

    def leave(self) -> None:
        with self._lock:
            self.running -= 1

    def reset(self) -> None:
        """Zero the counts (after the warm-up); calls still running keep counting."""
        with self._lock:
            self.calls = 0
            self.peak = self.running

    def snapshot(self) -> dict[str, int]:
        """What a cell reports: ``tool_runs`` and ``peak_tools``."""
        with self._lock:
            return {"tool_runs": self.calls, "peak_tools": self.peak}


def lookup_function(tool_ms: float, gauge: ToolGauge) -> Callable[[str], Awaitable[str]]:
    """The tool's ``async def``: await ``tool_ms`` ms, return a short text naming the topic."""
    delay = tool_ms / 1000

    async def topic_notes(topic: str) -> str:
        """Look up the analyst's notes on a topic. Returns a few short facts."""
        gauge.enter()
        try:
            await asyncio.sleep(delay)
        finally:
            gauge.leave()
        return f"Notes on {topic[:40]}: stable, well documented, growing."

    return topic_notes


def tool_sim_options() -> dict[str, Any]:
    """The simulator settings of a tools run: one round of one tool call, then the answer."""
    return {"tool_rounds": 1, "parallel_calls": 1}
