"""Event loops: the one place that chooses uvloop or the stdlib loop."""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    import asyncio

__all__ = ["LoopKind", "ensure_no_running_loop", "new_event_loop", "run"]

T = TypeVar("T")
LoopKind = Literal["uvloop", "asyncio"]


def new_event_loop(kind: LoopKind = "uvloop") -> asyncio.AbstractEventLoop:
    """A fresh loop: uvloop when asked for and available, else the stdlib loop."""
    import asyncio  # here, not at the top: configs import LoopKind, the CLI imports them

    if kind == "uvloop" and sys.platform != "win32":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run(main: Coroutine[Any, Any, T], *, loop: LoopKind = "uvloop") -> T:
    """Run ``main`` to completion on a new loop of the given kind (like ``asyncio.run``)."""
    import asyncio

    with asyncio.Runner(loop_factory=lambda: new_event_loop(loop)) as runner:
        return runner.run(main)


def ensure_no_running_loop(api: str, async_api: str) -> None:
    """Raise a clear error when a sync API is called from inside a running event loop."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    from .errors import RunningLoopError

    raise RunningLoopError(
        f"{api}() is synchronous and cannot run inside a running event loop; "
        f"use `await {async_api}(...)` instead."
    )
