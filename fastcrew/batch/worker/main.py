"""A worker process: its own event loop, LLM session and crew; rows in, finished rows out.

Started by the supervisor as a fresh interpreter (``python -m fastcrew.batch.worker FD``,
spawn semantics) with one end of a socketpair; the first message is its pickled
:class:`~fastcrew.batch.config.WorkerConfig`. Everything heavy is built here, in the child.
SIGINT is ignored (Ctrl-C reaches the whole process group; the supervisor decides).
The protocol is in :mod:`~fastcrew.batch.wire.messages`; the lease messages go to the
worker's :class:`~fastcrew.batch.worker.budget.WorkerBudgets`.

If the supervisor disappears (its end of the socket closes), the worker exits. If it goes
silent (stopped with SIGSTOP, suspended), the worker keeps running its rows and waits for it
up to ``WorkerConfig.supervisor_timeout`` seconds (2 x ``--ping-timeout``) without a message
(pings come every second), then exits.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import socket
import sys
from collections import deque
from typing import TYPE_CHECKING, Any, cast

from ..._loop import run
from ...llm.providers import redirect_environment
from ...process_runtime import LLMRedirect, Runtime, get_runtime, set_runtime
from ..config import WorkerConfig
from ..startup import process_age_s, timed
from ..wire.channel import Channel, open_channel
from ..wire.messages import (
    Answers,
    Configure,
    Done,
    Drain,
    Fatal,
    Grant,
    Hello,
    Limited,
    Pause,
    Ping,
    Pong,
    Reachable,
    Ready,
    RowResult,
    Rows,
    Started,
    Stop,
    Unavailable,
    Unfinished,
    WireRow,
)
from .budget import WorkerBudgets
from .runner import RowRunner
from .stops import BEFORE_SUCCESS, REACHED, stop_message

if TYPE_CHECKING:
    from .deferred import Deferrer

_PRICES_MODULE = "fastcrew.pricing.prices"


def unpriced_models() -> list[str]:
    """The models this process found no price for (none if nothing was priced yet)."""
    module = sys.modules.get(_PRICES_MODULE)
    return sorted(module.unpriced_models()) if module is not None else []


__all__ = ["serve", "worker_main"]


def _environment(config: WorkerConfig) -> None:
    """Point CrewAI-style LLM resolution (``LLM()``, model strings) at the run's settings —
    before the crew or flow is loaded, so LLMs built at import time or inside flow methods
    follow too. Simulated, fastcrew's LLMs follow the runtime's :class:`LLMRedirect`; the
    environment is redirected as well (every provider's base URL is the simulator, no
    provider key is set: :func:`~fastcrew.llm.providers.redirect_environment`) so other
    clients in the user's code cannot reach, or pay, a real provider either."""
    if config.simulated and config.base_url:
        for name, value in redirect_environment(config.base_url).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    else:
        if config.base_url:
            os.environ["OPENAI_BASE_URL"] = config.base_url
            os.environ.pop("OPENAI_API_BASE", None)
        if config.api_key:
            os.environ["OPENAI_API_KEY"] = config.api_key
    if config.model:
        os.environ["MODEL"] = config.model


def _read_config(sock: socket.socket) -> WorkerConfig:
    """The first message, read with blocking calls (the loop kind is in it)."""

    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            part = sock.recv(n - len(data))
            if not part:
                raise SystemExit(0)  # the supervisor is gone
            data += part
        return data

    size = int.from_bytes(exactly(4), "big")
    message = pickle.loads(exactly(size))
    assert isinstance(message, Configure)
    return message.config


def worker_main(fd: int) -> None:
    """The worker process's entry point: serve on the inherited socket ``fd``."""
    # Stops are the supervisor's to decide (a group-wide Ctrl-C or SIGTERM must let the
    # workers drain); a worker exits when the supervisor closes its socket, or is killed.
    python_s = process_age_s()  # the interpreter and fastcrew's imports, up to here
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(socket.socket(fileno=fd), python_s=python_s)


def serve(sock: socket.socket, python_s: float | None = None) -> None:
    """Read the run's config from ``sock``, set the process up as it says (the supervisor's
    ``sys.path`` and working directory where this machine has them, the LLM environment),
    and serve rows until the supervisor closes the socket. A local worker process and a Ray
    actor's thread both run this. ``python_s``: the process's start-up before this call
    (None when unknown: a Ray actor's thread), reported in the ``hello``."""
    config, waited_s = timed(lambda: _read_config(sock))
    for entry in reversed(config.sys_path):
        if entry not in sys.path and os.path.isdir(entry):
            sys.path.insert(0, entry)
    if os.path.isdir(config.cwd):
        os.chdir(config.cwd)
    _environment(config)
    startup: dict[str, Any] = {"python_s": python_s, "waited_s": waited_s}
    run(_serve(config, sock, startup), loop=config.loop)


async def _serve(config: WorkerConfig, sock: socket.socket, startup: dict[str, Any]) -> None:
    channel = await open_channel(sock)
    budgets = WorkerBudgets(
        channel.send, rpm=config.rpm, tpm=config.tpm, itpm=config.itpm, otpm=config.otpm
    )
    # One runtime for the worker: the leased budget injected, this loop as the home of sync
    # calls (sync flow methods, sync tools), a thread pool as wide as the row gate.
    # Simulated: every fastcrew LLM built here goes to the simulator, whatever it names.
    redirect = (
        LLMRedirect(config.base_url, config.api_key)
        if config.simulated and config.base_url
        else None
    )
    runtime = set_runtime(
        Runtime(
            budgets=budgets,
            max_threads=max(config.concurrency, 1),
            redirect=redirect,
            prices=config.prices or None,  # --price: over the table
            cache=config.cache,  # --cache: every LLM without its own cache= uses it
        )
    )
    runtime.adopt_loop()
    if config.via == "batch-api":  # every LLM call goes to the supervisor (Batch API)
        from .deferred import Deferrer  # loads the request key's sqlite3: only in this mode

        runtime.deferrer = Deferrer(channel.send)
    try:
        runner = RowRunner(config)
    except Exception as exc:
        channel.send(Fatal(type(exc).__name__, str(exc)))
        await channel.drain()
        channel.close()
        return
    channel.send(Hello(os.getpid(), {**startup, **runner.startup}))
    await Worker(config, channel, runner, budgets).serve()


async def _flush_caches() -> None:
    """Write what the response caches (``--cache``) have queued before the worker exits."""
    for cache in get_runtime().open_caches():
        try:
            await cache.aflush()
        except Exception as exc:  # a cache: the run's rows are not at stake
            print(f"fastcrew batch worker: response cache not written: {exc}", file=sys.stderr)


class Worker:
    """The message loop and the row gate of one worker."""

    def __init__(
        self, config: WorkerConfig, channel: Channel, runner: RowRunner, budgets: WorkerBudgets
    ) -> None:
        self.config = config
        self.channel = channel
        self.runner = runner
        self.budgets = budgets
        self.queue: deque[WireRow] = deque()
        self.tasks: set[asyncio.Task[None]] = set()
        self.asked = False
        self.draining = False
        self.outbox: list[RowResult] = []
        self.unfinished: list[int] = []
        self._flush_scheduled = False
        self.stops_reported: set[str] = set()
        self.reached = False
        """A call of the run succeeded (here, or in another worker: ``Reachable``)."""
        runner.stops = BEFORE_SUCCESS
        self.rows_done = 0
        self.started: list[int] = []
        self.abandoned = False
        self._loop = asyncio.get_running_loop()
        self.last_heard = self._loop.time()

    async def serve(self) -> None:
        """Handle messages until told to stop or the supervisor goes away (or stays silent
        for ``supervisor_timeout``)."""
        main = asyncio.current_task()
        assert main is not None
        watchdog = self._loop.create_task(self._watch(main))
        prepare = self._loop.create_task(self._prepare(main))
        try:
            while True:
                message = await self.channel.recv()
                if message is None:
                    return
                self.last_heard = self._loop.time()
                match message:
                    case Rows(rows):
                        self.asked = False
                        self.queue.extend(rows)
                        self._fill()
                    case Grant() | Pause() | Limited():
                        self.budgets.handle(message)
                    case Ping(seq):
                        self._check_reached()
                        self.channel.send(Pong(seq, self._stats()))
                    case Drain():
                        self._drain()
                    case Reachable():
                        self._reached()
                    case Answers(answers):
                        cast("Deferrer", get_runtime().deferrer).answer(answers)
                    case Stop():
                        return
        except asyncio.CancelledError:
            if not self.abandoned:
                raise
            main.uncancel()
        finally:
            watchdog.cancel()
            prepare.cancel()
            self.draining = True
            for task in self.tasks:
                task.cancel()
            if self.tasks:
                await asyncio.wait(self.tasks)
            self.budgets.release_all()
            self._flush()
            await _flush_caches()
            self.channel.send(Pong(-1, self._stats()))
            await self.channel.drain()
            self.channel.close()

    async def _prepare(self, main: asyncio.Task[None]) -> None:
        """Index the crew's knowledge, then ask for the first rows. The message loop runs
        meanwhile: the embedding requests pass the budget leased from the supervisor. A
        failure is fatal to the worker (every row would need the knowledge)."""
        try:
            await self.runner.aprepare()
        except Exception as exc:
            text = f"indexing the crew's knowledge failed: {exc}"
            self.channel.send(Fatal(type(exc).__name__, text))
            self.abandoned = True
            main.cancel()
            return
        self._ask()

    async def _watch(self, main: asyncio.Task[None]) -> None:
        """Give up on a supervisor silent for ``supervisor_timeout`` (ticks far later than
        planned mean this process was stopped itself: silence is then counted from now)."""
        bound = self.config.supervisor_timeout
        interval = min(1.0, bound / 4)
        loop = self._loop
        last = loop.time()
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            if now - last > 2 * interval + 0.5:
                self.last_heard = max(self.last_heard, now)
            last = now
            if now - self.last_heard > bound:
                print(
                    f"fastcrew batch worker (pid {os.getpid()}): no message from the "
                    f"supervisor for {bound:g} s; exiting",
                    file=sys.stderr,
                )
                self.abandoned = True
                main.cancel()
                return

    def _stats(self) -> dict[str, Any]:
        runtime = get_runtime()
        usage = runtime.usage  # every successful call of this process, on any loop or thread
        return {
            "rows": self.rows_done,
            "running": len(self.tasks),
            "queued": len(self.queue),
            "calls": usage.requests - usage.cache_hits,  # requests sent (hits send none)
            "rate_limited": runtime.rate_limited(),
            "retries": usage.retries,
            "cache_hits": usage.cache_hits,
            "cache_misses": usage.cache_misses,
            "saved_usd": usage.saved_usd,
            "cost_usd": usage.cost_usd,  # every call of the process: --max-cost's spend
            "unpriced_requests": usage.unpriced_requests,
            "unpriced_models": unpriced_models(),
        }

    def _ask(self) -> None:
        if self.draining or self.asked:
            return
        config = self.config
        # Rows queued here start only when a running one ends: with --via batch-api that
        # is after a round, so their calls would make rounds of their own. No prefetch then.
        prefetch = 0 if config.via == "batch-api" else config.chunk_size
        most = config.concurrency + prefetch
        room = most - len(self.tasks) - len(self.queue)
        if room > 0 and room * 2 >= min(config.chunk_size, most):
            self.asked = True
            self.channel.send(Ready(room))

    def _fill(self) -> None:
        limit = self.config.concurrency
        while self.queue and len(self.tasks) < limit and not self.draining:
            item = self.queue.popleft()
            # The flush that reports the start runs before the row's first step.
            self.started.append(item[0])
            self._schedule_flush()
            task = self._loop.create_task(self._row(*item))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        self._ask()

    def _drain(self) -> None:
        self.draining = True
        self.unfinished.extend(item[0] for item in self.queue)
        self.queue.clear()
        self._schedule_flush()

    async def _row(self, index: int, line: int, raw: bytes, attempts: int) -> None:
        try:
            result = await self.runner.run(index, line, raw, attempts)
        except BEFORE_SUCCESS as exc:  # given back unfinished; the supervisor decides
            self.unfinished.append(index)
            self._check_reached()
            message = stop_message(exc, self.reached)
            kind = message.kind if isinstance(message, Unavailable) else "quota"
            if message is not None and kind not in self.stops_reported:
                self.stops_reported.add(kind)  # once per kind: the supervisor stops
                self.channel.send(message)
                if isinstance(message, Unavailable) and message.kind == "auth":
                    # every other row would be refused too: start none
                    self._drain()
        else:
            self.rows_done += 1
            self.outbox.append(result)
            self._check_reached()
        self._schedule_flush()
        self.tasks.discard(asyncio.current_task())
        self._fill()

    def _check_reached(self) -> None:
        usage = get_runtime().usage
        if not self.reached and usage.requests > usage.cache_hits:  # a request answered
            self._reached()

    def _reached(self) -> None:
        """From now on a connection error is the row's own (an error row)."""
        self.reached = True
        self.runner.stops = REACHED

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        # Finished rows first: a row is started only once an earlier one freed its slot.
        if self.outbox:
            self.channel.send(Done(self.outbox))
            self.outbox = []
        if self.started:
            self.channel.send(Started(self.started))
            self.started = []
        if self.unfinished:
            self.channel.send(Unfinished(self.unfinished))
            self.unfinished = []
