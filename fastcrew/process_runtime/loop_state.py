"""``LoopState``: what the process runtime keeps for one event loop (limiters, caps,
resources such as the aiohttp session, and the closers run when the loop shuts down)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from ..limits import Limiter

__all__ = ["LoopState"]


class LoopState:
    """What the runtime keeps for one event loop: its limiters and resources."""

    __slots__ = ("_closers", "_finalizer", "caps", "limiters", "resources")

    def __init__(self) -> None:
        self.limiters: dict[str, Limiter] = {}
        self.caps: dict[object, Limiter] = {}
        self.resources: dict[str, Any] = {}
        self._closers: list[Callable[[], Awaitable[object]]] = []
        self._finalizer: AsyncGenerator[None, None] | None = None

    def on_close(self, closer: Callable[[], Awaitable[object]]) -> None:
        """Await ``closer()`` when this loop shuts down (e.g. close an HTTP session)."""
        self._closers.append(closer)

    async def aclose(self) -> None:
        """Run the closers (newest first) and forget everything."""
        closers, self._closers = self._closers[::-1], []
        self.resources.clear()
        for closer in closers:
            await closer()
