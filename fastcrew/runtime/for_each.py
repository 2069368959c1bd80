"""Run a coroutine function over many inputs with a bound: gate, then spawn.

A slot is acquired *before* each task is created, so there are never more live tasks than
the bound, whatever the size of the input; inputs are pulled from the iterable one at a time
(a generator of millions of rows is never materialised). Results come back in input order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from contextlib import aclosing
from typing import Any, TypeVar

__all__ = ["DEFAULT_MAX_CONCURRENCY", "bounded_map", "raise_first"]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_MAX_CONCURRENCY = 100
"""Runs in flight at once when ``akickoff_for_each`` is given no ``max_concurrency``."""

_PENDING: Any = object()


def raise_first(group: BaseExceptionGroup, failures: list[BaseException]) -> BaseException:
    """The error to raise for a failed task group: the first failure in time, unwrapped."""
    if failures:
        first = failures[0]
    else:
        first = group.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
    others = sum(1 for _ in _leaves(group)) - 1
    if others > 0:
        first.add_note(f"({others} other concurrent failure(s) were cancelled or also failed)")
    return first


def _leaves(group: BaseExceptionGroup) -> Iterable[BaseException]:
    seen: set[int] = set()
    for exc in group.exceptions:
        items = _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
        for leaf in items:
            if id(leaf) not in seen:
                seen.add(id(leaf))
                yield leaf


async def _items(source: Iterable[T] | AsyncIterable[T]) -> Any:
    if isinstance(source, AsyncIterable):
        async for item in source:
            yield item
    else:
        for item in source:
            yield item


async def bounded_map(
    fn: Callable[[int, T], Awaitable[R]],
    inputs: Iterable[T] | AsyncIterable[T],
    max_concurrency: int,
    *,
    return_exceptions: bool = False,
    on_spawn: Callable[[int], None] | None = None,
) -> list[R | BaseException]:
    """``[await fn(i, x) for i, x in enumerate(inputs)]`` with at most ``max_concurrency``
    calls in flight.

    With ``return_exceptions=True`` a failed input yields its exception in its place and the
    rest finish; otherwise the first failure cancels the calls in flight and is raised.
    ``on_spawn(live)`` is told the number of live calls after each spawn (for tests/benches).
    """
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be at least 1")
    results: list[Any] = []
    slots = asyncio.Semaphore(max_concurrency)
    failures: list[BaseException] = []
    live = 0

    async def one(index: int, item: T) -> None:
        nonlocal live
        try:
            results[index] = await fn(index, item)
        except Exception as exc:
            if not return_exceptions:
                failures.append(exc)
                raise
            results[index] = exc
        finally:
            live -= 1
            slots.release()

    try:
        async with asyncio.TaskGroup() as group:
            index = 0
            async with aclosing(_items(inputs)) as items:
                async for item in items:
                    await slots.acquire()
                    results.append(_PENDING)
                    live += 1
                    group.create_task(one(index, item))
                    if on_spawn is not None:
                        on_spawn(live)
                    index += 1
    except BaseExceptionGroup as group_error:
        raise raise_first(group_error, failures) from None
    return results
