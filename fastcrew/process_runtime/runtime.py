"""``Runtime``: the one owner of a process's long-lived fastcrew state.

A process has one runtime (:func:`get_runtime`, made on first use). It owns

- the **home loop** that sync callers (``Crew.kickoff``, ``LLM.call``, ``Flow.kickoff``, sync
  streams) run their coroutines on — a background thread by default, a batch worker's main
  loop when it adopts one — so sync calls share one HTTP session and one budget and no event
  loop is made per call;
- the **budgets**: a :class:`~fastcrew.process_runtime.budgets.BudgetProvider`
  (process-local buckets by default; a batch worker injects one that leases the supervisor's
  global budget), one :class:`~fastcrew.limits.Limiter` per loop and budget on top of it, and
  the ``max_rpm`` caps;
- **per-loop resources** (the aiohttp session): made on first use on each loop, released when
  that loop shuts down (``asyncio.run`` and ``asyncio.Runner`` do) or closes;
- a sized **thread pool** for sync tools and sync flow methods;
- the **prices** its LLM calls are costed at (``prices``: genai-prices' table, and the
  user's ``Price`` overrides given with ``Runtime(prices=...)`` / ``set_prices``);
- the **response cache** of LLMs built without ``cache=`` (``cache``: a path, None for
  none; ``fastcrew batch --cache`` sets it in each worker) and the one open cache per path
  (:meth:`cache_for`, shared by every LLM of the process; closed at exit).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import dataclasses
import functools
import os
import threading
import weakref
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from .._loop import LoopKind, ensure_no_running_loop
from ..limits import BudgetSource, Limiter, RateLimit
from ..limits.config import Charge
from .budgets import BudgetProvider, CapSpec, ProcessBudgets
from .home import HomeLoop
from .loop_state import LoopState
from .routing import Deferrer, LLMRedirect
from .usage import UsageMeter

if TYPE_CHECKING:
    from ..pricing import Price, Prices

__all__ = [
    "DEFAULT_MAX_THREADS",
    "Deferrer",
    "LLMRedirect",
    "LoopState",
    "Runtime",
    "get_runtime",
    "set_runtime",
]

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_MAX_THREADS = max(32, (os.cpu_count() or 1) * 8)
"""Threads for sync tools and flow methods unless the runtime is told otherwise (a batch
worker sizes its pool to ``--concurrency``)."""


class Runtime:
    """The process's fastcrew runtime (see the module docstring).

    ``budgets``: where budget amounts come from (default :class:`ProcessBudgets`);
    ``max_threads``: the sync-work thread pool's size; ``loop``: the kind of the home loop
    thread; ``default_rate_limit``: the limit of LLMs created without one; ``redirect``:
    where every LLM built from now on is sent, whatever endpoint it names (an
    :class:`LLMRedirect`; ``--simulate`` sets one in each batch worker); ``prices``: what
    calls cost (see :meth:`set_prices`; default: the table alone); ``cache``: the response
    cache file of LLMs built without ``cache=`` (None: no cache; docs/cache.md).
    """

    def __init__(
        self,
        *,
        budgets: BudgetProvider | None = None,
        max_threads: int = DEFAULT_MAX_THREADS,
        loop: LoopKind = "uvloop",
        default_rate_limit: RateLimit | None = None,
        redirect: LLMRedirect | None = None,
        prices: Prices | Iterable[Price | str] | None = None,
        cache: str | os.PathLike[str] | None = None,
    ) -> None:
        if max_threads < 1:
            raise ValueError("max_threads must be at least 1")
        self.budgets: BudgetProvider = budgets or ProcessBudgets()
        self.max_threads = max_threads
        self.default_rate_limit = default_rate_limit or RateLimit()
        self.redirect = redirect
        self.deferrer: Deferrer | None = None
        """Set: every chat call of a fastcrew LLM goes to it, not over HTTP (a batch
        worker's ``--via batch-api``)."""
        self._home = HomeLoop(loop)
        self._loops: dict[asyncio.AbstractEventLoop, LoopState] = {}
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._owner_caps: dict[int, tuple[weakref.ref[object], int, BudgetSource]] = {}
        self.usage = UsageMeter()
        """Every successful LLM call of the process (the LLM client adds each once)."""
        self.cache: str | None = None if cache is None else os.fspath(cache)
        """The response cache of LLMs without ``cache=`` (read at each call)."""
        self._caches: dict[str, Any] = {}
        self._prices: Prices | None = None
        if prices is not None:
            self.set_prices(prices)

    def __repr__(self) -> str:
        return (
            f"Runtime(budgets={type(self.budgets).__name__}, max_threads={self.max_threads}, "
            f"loops={len(self._loops)})"
        )

    # -- loops ----------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T], *, api: str = "run", async_api: str = "") -> T:
        """Run ``coro`` to completion on the home loop from synchronous code.

        Refuses inside a running event loop (``api`` / ``async_api`` name the call and its
        awaitable alternative in the error).
        """
        try:
            ensure_no_running_loop(api, async_api or f"{api} (async)")
        except BaseException:
            coro.close()
            raise
        return self._home.run(coro)

    def adopt_loop(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Make ``loop`` (default: the running one) the home loop — a batch worker's main
        loop — so sync calls from its threads run there."""
        self._home.adopt(loop or asyncio.get_running_loop())

    async def on_home_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the home loop (started if needed): directly when the caller
        already runs there, else through the home thread; cancelling the caller cancels it
        there. For resources bound to one loop, such as MCP sessions."""
        if asyncio.get_running_loop() is self._home.loop:
            return await coro
        future = asyncio.run_coroutine_threadsafe(coro, self._home._ensure())
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            raise

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Start ``coro`` on the home loop (started if needed) in a copy of the caller's
        context, without waiting: background work that outlives the caller's own loop."""
        return asyncio.run_coroutine_threadsafe(coro, self._home._ensure())

    @property
    def home_loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop sync callers run on, once started or adopted."""
        return self._home.loop

    def loop_state(self) -> LoopState:
        """The running loop's :class:`LoopState` (made on first use)."""
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._new_state(loop)
        return state

    def _new_state(self, loop: asyncio.AbstractEventLoop) -> LoopState:
        with self._lock:
            for old in [old for old in self._loops if old.is_closed()]:
                del self._loops[old]  # closed without shutting its async generators down
            state = self._loops[loop] = LoopState()
        finalizer = self._finalize(loop, state)
        with contextlib.suppress(StopIteration):  # one step registers it with the loop's hooks
            finalizer.asend(None).send(None)
        state._finalizer = finalizer
        return state

    async def _finalize(
        self, loop: asyncio.AbstractEventLoop, state: LoopState
    ) -> AsyncGenerator[None, None]:
        """An async generator the loop finalises at shutdown: its ``finally`` releases."""
        try:
            yield
        finally:
            with self._lock:
                if self._loops.get(loop) is state:
                    del self._loops[loop]
            await state.aclose()

    def rate_limited(self) -> int:
        """429 answers seen by this process's limiters (every loop that still runs)."""
        return sum(
            limiter.stats.rate_limited
            for state in list(self._loops.values())
            for limiter in list(state.limiters.values())
        )

    @property
    def loop_count(self) -> int:
        """How many event loops hold state in this runtime now."""
        return len(self._loops)

    @contextlib.contextmanager
    def redirecting(self, base_url: str, api_key: str | None = None) -> Iterator[None]:
        """Within the block, every LLM built goes to ``base_url`` (see :class:`LLMRedirect`)."""
        previous, self.redirect = self.redirect, LLMRedirect(base_url, api_key)
        try:
            yield
        finally:
            self.redirect = previous

    # -- budgets --------------------------------------------------------------------------

    def limiter(self, key: str, limit: RateLimit | None, charge: Charge | None = None) -> Limiter:
        """The running loop's limiter for endpoint budget ``key``.

        The first explicit ``limit`` for a key wins; LLMs without one share it (the runtime's
        default, with the provider's ``charge`` model when given).
        """
        state = self.loop_state()
        limiter = state.limiters.get(key)
        if limiter is None:
            chosen = limit or self.default_rate_limit
            if limit is None and charge is not None:
                chosen = dataclasses.replace(chosen, charge=charge)
            loop = asyncio.get_running_loop()
            source = self.budgets.source(key, chosen, loop.time(), limit is not None)
            limiter = state.limiters[key] = Limiter(
                source, max_concurrency=chosen.max_concurrency, loop=loop
            )
            limiter.explicit = limit is not None
        elif limit is not None and not limiter.explicit:
            source = self.budgets.source(key, limit, limiter.now(), True)
            limiter.reconfigure(source, limit.max_concurrency)
            limiter.explicit = True
        return limiter

    def cap(self, owner: object, rpm: int) -> Limiter:
        """The running loop's limiter for ``owner``'s ``max_rpm`` cap (an Agent's or a
        Crew's), shared by every run of that owner — across loops, and with a cross-process
        provider across processes (by :class:`CapSpec`)."""
        state = self.loop_state()
        if self.budgets.caps_by_spec:
            spec = CapSpec.of(owner, rpm)
            limiter = state.caps.get(spec)
            if limiter is None:
                loop = asyncio.get_running_loop()
                source = self.budgets.cap(spec, loop.time())
                limiter = state.caps[spec] = Limiter(source, loop=loop)
            return limiter
        shared = self._owner_cap(owner, rpm)
        limiter = state.caps.get(shared)
        if limiter is None:
            limiter = state.caps[shared] = Limiter(shared, loop=asyncio.get_running_loop())
        return limiter

    def _owner_cap(self, owner: object, rpm: int) -> BudgetSource:
        ident = id(owner)  # owners (pydantic models) are not hashable; ids are reused
        with self._lock:
            found = self._owner_caps.get(ident)
            if found is not None and found[0]() is owner and found[1] == rpm:
                return found[2]
            shared = self.budgets.cap(CapSpec.of(owner, rpm), 0.0)  # one per owner object
            caps = self._owner_caps

            def forget(_: object, key: int = ident) -> None:
                caps.pop(key, None)

            self._owner_caps[ident] = (weakref.ref(owner, forget), rpm, shared)
            return shared

    # -- prices -------------------------------------------------------------------------

    @property
    def prices(self) -> Prices:
        """What this process's LLM calls cost (``fastcrew.pricing.Prices``): the prices given
        to :meth:`set_prices`, over genai-prices' table (loaded on the first priced call)."""
        prices = self._prices
        if prices is None:
            from ..pricing import Prices

            prices = self._prices = Prices()
        return prices

    def set_prices(self, prices: Prices | Iterable[Price | str]) -> Prices:
        """Price the calls made from now on with ``prices``: a ``Prices``, or ``Price``
        objects and ``"MODEL=IN/OUT[/CACHED]"`` specs (USD per million tokens, as ``--price``
        takes them) that win over the table. Replaces the previous prices; returns the new."""
        from ..pricing import Prices, parse_price

        if not isinstance(prices, Prices):
            prices = Prices([parse_price(p) if isinstance(p, str) else p for p in prices])
        self._prices = prices
        return prices

    # -- the response cache -----------------------------------------------------------

    def cache_for(self, path: str, open_cache: Callable[[str], T]) -> T:
        """The process's one open cache for ``path`` (its absolute form), made with
        ``open_cache(path)`` on first use (``fastcrew.llm.cached`` passes
        ``ResponseCache``: the cache package sits above this one)."""
        found = self._caches.get(path)  # the path as given: no abspath on the hot path
        if found is None:
            where = os.path.abspath(path)
            with self._lock:
                found = self._caches.get(where)
                if found is None:
                    found = self._caches[where] = open_cache(where)
                self._caches[path] = found
        return found

    def open_caches(self) -> list[Any]:
        """The response caches :meth:`cache_for` has opened (each once)."""
        return list({id(c): c for c in list(self._caches.values())}.values())

    # -- threads --------------------------------------------------------------------------

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The pool sync tools and sync flow methods run in (made on first use)."""
        if self._executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        self.max_threads, thread_name_prefix="fastcrew-sync"
                    )
        return self._executor

    async def run_in_thread(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking ``fn(*args, **kwargs)`` in the runtime's pool, in a copy of the
        caller's context (like ``asyncio.to_thread``, with a pool of ``max_threads``)."""
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await loop.run_in_executor(self.executor, call)

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the home thread (closing its sessions), the thread pool and the response
        caches (what they have queued is written)."""
        self._home.close()
        caches, self._caches = {id(c): c for c in self._caches.values()}, {}
        for cache in caches.values():
            cache.close()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def get_runtime() -> Runtime:
    """This process's :class:`Runtime` (made with defaults on first use)."""
    runtime = _runtime
    if runtime is None:
        with _runtime_lock:
            runtime = _runtime
            if runtime is None:
                runtime = _install(Runtime())
    return runtime


def set_runtime(runtime: Runtime) -> Runtime:
    """Make ``runtime`` this process's runtime (a batch worker injects its own); the previous
    one is closed. Returns ``runtime``."""
    with _runtime_lock:
        return _install(runtime)


def _install(runtime: Runtime) -> Runtime:
    global _runtime
    previous, _runtime = _runtime, runtime
    if previous is not None and previous is not runtime:
        previous.close()
    return runtime


@atexit.register
def _close_at_exit() -> None:
    if _runtime is not None:
        _runtime.close()
