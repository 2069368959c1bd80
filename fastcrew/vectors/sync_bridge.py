"""The sync API's loop: the stores are async inside (LanceDB's async API is ~2x faster per
query than its sync one, which itself runs a private loop); a sync call runs the coroutine on
the process runtime's home loop, like every other sync fastcrew call (and, like them, is
refused inside a running event loop: await the ``a``-method there)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from ..process_runtime import get_runtime

__all__ = ["run_sync"]

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on the home loop and return its result (blocks)."""
    return get_runtime().run(coro, api="a vector store's sync method", async_api="its a-method")
