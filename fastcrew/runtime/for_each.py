"""Run a coroutine function over many inputs with a bound: gate, then spawn.

A slot is acquired *before* each task is created, so there are never more live tasks than
the bound, whatever the size of the input; inputs are pulled from the iterable one at a time
(a generator of millions of rows is never materialised). Results come back in input order:
all at once as a list (:func:`bounded_map`), or one by one as an async iterator whose
finished-but-not-yet-yielded results are bounded too (:func:`bounded_iter`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from contextlib import aclosing
from typing import Any, TypeVar

from .._failures import first_failure

__all__ = ["DEFAULT_MAX_CONCURRENCY", "bounded_iter", "bounded_map"]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_MAX_CONCURRENCY = 100
"""Runs in flight at once when ``akickoff_for_each`` is given no ``max_concurrency``."""

_PENDING: Any = object()


async def _items(source: Iterable[T] | AsyncIterable[T]) -> Any:
    if isinstance(source, AsyncIterable):
        async for item in source:
            yield item
    else:
        for item in source:
            yield item


async def _gate_then_spawn(
    inputs: Iterable[T] | AsyncIterable[T],
    gate: Callable[[], Awaitable[bool]],
    spawn: Callable[[int, T], None],
) -> int:
    """Pull ``inputs`` one at a time; before spawning each, ``await gate()`` (False: stop).

    The one place the gate-then-spawn order lives: an input is pulled only when the previous
    one has its slot, so the pulled-but-unstarted inputs are at most one. Returns how many
    were spawned.
    """
    index = 0
    async with aclosing(_items(inputs)) as items:
        async for item in items:
            if not await gate():
                break
            spawn(index, item)
            index += 1
    return index


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

    async def gate() -> bool:
        await slots.acquire()
        return True

    try:
        async with asyncio.TaskGroup() as group:

            def spawn(index: int, item: T) -> None:
                nonlocal live
                results.append(_PENDING)
                live += 1
                group.create_task(one(index, item))
                if on_spawn is not None:
                    on_spawn(live)

            await _gate_then_spawn(inputs, gate, spawn)
    except BaseExceptionGroup as group_error:
        raise first_failure(group_error, failures, "run(s)") from None
    return results


def bounded_iter(
    fn: Callable[[int, T], Awaitable[R]],
    inputs: Iterable[T] | AsyncIterable[T],
    max_concurrency: int,
    *,
    return_exceptions: bool = False,
    on_spawn: Callable[[int], None] | None = None,
) -> AsyncIterator[R | BaseException]:
    """``await fn(i, x)`` for each input, yielded one by one **in input order**, with at
    most ``max_concurrency`` calls in flight and at most ``2 * max_concurrency`` inputs
    started but not yet yielded (in flight, or finished and waiting for an earlier one), so
    memory stays bounded however long the input is.

    A feeder task pulls the inputs lazily as slots free up, while the consumer handles the
    results. With ``return_exceptions=True`` a failed input yields its exception in its
    place; otherwise the results before the first failing input (in input order) are
    yielded, the calls after it are cancelled, and its error is raised. An error raised by
    the input iterable itself is raised after the results before it. Closing the iterator
    early (``break`` then garbage collection, ``aclose()``, or ``contextlib.aclosing``)
    cancels every call in flight and the feeder.
    """
    if max_concurrency < 1:  # checked at the call, not at the first step of the iteration
        raise ValueError("max_concurrency must be at least 1")
    return _bounded_iter(fn, inputs, max_concurrency, return_exceptions, on_spawn)


async def _bounded_iter(
    fn: Callable[[int, T], Awaitable[R]],
    inputs: Iterable[T] | AsyncIterable[T],
    max_concurrency: int,
    return_exceptions: bool,
    on_spawn: Callable[[int], None] | None,
) -> AsyncIterator[R | BaseException]:
    slots = asyncio.Semaphore(max_concurrency)  # calls in flight
    window = asyncio.Semaphore(2 * max_concurrency)  # started but not yet yielded
    running: dict[int, asyncio.Task[None]] = {}
    finished: dict[int, Any] = {}  # a result, or the exception of a failed call
    changed = asyncio.Event()
    stop_at: int | None = None  # the first failing input: nothing after it is wanted
    fed: int | None = None  # how many inputs the feeder spawned, once it is done
    feed_error: BaseException | None = None

    async def one(index: int, item: T) -> None:
        nonlocal stop_at
        try:
            finished[index] = await fn(index, item)
        except Exception as exc:
            finished[index] = exc
            if not return_exceptions and (stop_at is None or index < stop_at):
                stop_at = index
                for later, task in running.items():
                    if later > index:
                        task.cancel()
        finally:
            del running[index]
            slots.release()
            changed.set()

    async def gate() -> bool:
        await window.acquire()
        await slots.acquire()
        return stop_at is None

    def spawn(index: int, item: T) -> None:
        running[index] = asyncio.get_running_loop().create_task(one(index, item))
        if on_spawn is not None:
            on_spawn(len(running))

    async def feed() -> None:
        nonlocal fed, feed_error
        count = 0

        def counted(index: int, item: T) -> None:
            nonlocal count
            spawn(index, item)
            count = index + 1

        try:
            await _gate_then_spawn(inputs, gate, counted)
        except Exception as exc:
            feed_error = exc
        finally:
            fed = count
            changed.set()

    feeder = asyncio.get_running_loop().create_task(feed())
    head = 0
    try:
        while True:
            while head not in finished:
                if stop_at is not None and head >= stop_at:
                    break
                if fed is not None and head >= fed:
                    if feed_error is not None:
                        raise feed_error
                    return
                changed.clear()
                await changed.wait()
            if stop_at is not None and head == stop_at:
                raise finished[head]
            value = finished.pop(head)
            head += 1
            window.release()
            yield value
    finally:
        feeder.cancel()
        for task in running.values():
            task.cancel()
        await asyncio.gather(feeder, *running.values(), return_exceptions=True)
