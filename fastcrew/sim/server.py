"""The simulator's HTTP server (aiohttp.web): the OpenAI endpoints plus ``/sim/*``, and the
same chat answers on Azure's deployment path (``chat.py``, ``azure.py``) and Anthropic's
``/v1/messages`` (``anthropic.py``); embeddings (``embeddings.py``), Files and Batch APIs.

Every response of every path carries an ``x-request-id``. Paths and methods not served
answer 404 / 405 with OpenAI's JSON error body.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any

from aiohttp import web

from .._json import dumps
from .._loop import LoopKind
from .._loop import run as run_loop
from .answers import AnswerMaker
from .anthropic import AnthropicWire
from .azure import AZURE_PATH, AzureWire
from .batch_input import BatchRunner
from .batches import BatchStore
from .buckets import RateLimits
from .chat import AZURE, ChatWire
from .config import SimConfig
from .embeddings import EMBEDDINGS_PATH, EmbeddingsWire
from .faults import FaultDice
from .files import FileStore
from .latency import Latency
from .replies import JSON, REQUEST_ID_HEADER, invalid_method, invalid_url, new_request_id
from .stats import SimStats
from .wire import models_body

__all__ = ["LISTENING_LINE", "Simulator", "run", "serve"]

LISTENING_LINE = "fastcrew sim listening on {base_url} (simulated LLM)"
SHUTDOWN_GRACE_S = 0.25  # aiohttp waits this twice: for the handler, then after cancelling
MAX_BODY_BYTES = 64 * 1024 * 1024
LISTEN_BACKLOG = 4096  # 1,000+ clients connecting at once must not wait for SYN retries
_ROUTES = {  # the served paths and their methods (HEAD is added to GET by aiohttp)
    "/v1/chat/completions": ("POST",),
    "/v1/messages": ("POST",),
    "/v1/models": ("GET", "HEAD"),
    "/sim/stats": ("GET", "HEAD"),
    "/sim/reset": ("POST",),
    "/v1/files": ("GET", "HEAD", "POST"),
    "/v1/batches": ("GET", "HEAD", "POST"),
    EMBEDDINGS_PATH: ("POST",),
}


async def _add_request_id(request: web.BaseRequest, response: web.StreamResponse) -> None:
    response.headers[REQUEST_ID_HEADER] = new_request_id()


class Simulator:
    """One simulated OpenAI-compatible server in the current event loop.

    Use ``async with Simulator(config) as sim`` (or :func:`serve`); ``sim.base_url`` is
    ``http://HOST:PORT/v1``. ``clock`` (Unix seconds, default ``time.time``) drives the
    Batch API's timeline, so tests can move it by hand.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        self.config = config = SimConfig.from_options(config, **options)
        self._answers = AnswerMaker(
            config.seed,
            config.completion_tokens,
            config.echo_chars,
            tool_rounds=config.tool_rounds,
            parallel_calls=config.parallel_calls,
            malformed_args_rate=config.malformed_args_rate,
        )
        self._limits = RateLimits(config.rpm, config.tpm, config.limit_window_s)
        self._stats = SimStats()
        self._faults = FaultDice(
            config.seed,
            config.fail_rate,
            config.reset_rate,
            config.stall_rate,
            config.malformed_rate,
            config.overloaded_rate,
        )
        self._latency = Latency(
            config.seed, config.latency_ms, config.jitter_ms, config.jitter_sigma
        )
        key = config.api_key
        self._auth = None if key is None else f"Bearer {key}".encode()
        self._closing = asyncio.Event()
        self._azure = AzureWire(config)
        self._completions = ChatWire(
            config,
            self._answers,
            self._limits,
            self._stats,
            self._faults,
            self._latency,
            self._closing,
            self._auth,
        )
        self._anthropic = AnthropicWire(
            config, self._answers, self._stats, self._faults, self._latency, self._closing, clock
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        host = config.host.strip("[]")
        self._host = "127.0.0.1" if host.lower() == "localhost" else host
        self._port: int | None = None
        self._models_body = models_body(config.model_name)
        self._files = FileStore(config, self._stats, clock, self._auth)
        runner = BatchRunner(config, self._answers)
        self._batches = BatchStore(config, self._files, runner, self._stats, clock, self._auth)
        self._embeddings = EmbeddingsWire(
            config,
            self._stats,
            self._limits,
            self._faults,
            self._latency,
            self._closing,
            self._auth,
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> Simulator:
        """Bind and start serving; returns ``self``."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post(AZURE_PATH, self._azure_chat)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/sim/stats", self._stats_view)
        app.router.add_post("/sim/reset", self._reset_view)
        self._files.register(app.router)
        self._batches.register(app.router)
        self._embeddings.register(app.router)
        app.router.add_route("*", "/{path:.*}", self._unknown)  # last: after every real route
        app.on_response_prepare.append(_add_request_id)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_S
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self.config.port, backlog=LISTEN_BACKLOG)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._closing.clear()
        self._runner = runner
        self._port = runner.addresses[0][1]
        self.reset_stats()
        return self

    async def close(self) -> None:
        """Stop serving: wake stalled requests, let others finish briefly, cancel the rest."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing.set()
        await runner.cleanup()
        await self._batches.close()
        pending = [task for task in self._tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    async def __aenter__(self) -> Simulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- public view -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._port is None:
            raise RuntimeError("the simulator has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``, the value to give an OpenAI client as its base URL."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}/v1"

    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters (the body of ``GET /sim/stats``)."""
        snapshot = self._stats.snapshot()
        snapshot["batch"].update(self._batches.live())
        return snapshot

    def reset_stats(self) -> None:
        """Zero the counters and refill the rate-limit buckets (``POST /sim/reset``)."""
        self._stats.reset()
        self._limits.reset()
        self._anthropic.reset()

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not started"
        return f"<Simulator {where} {self.config!r}>"

    # -- handlers --------------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._track("openai", self._completions.steps(request, None))

    async def _azure_chat(self, request: web.Request) -> web.StreamResponse:
        AZURE.set(True)  # this request's task only: Azure's remaining-only headers
        return await self._track("azure", self._completions.steps(request, self._azure))

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        return await self._track("anthropic", self._anthropic.handle(request))

    async def _track(
        self, wire: str, steps: Coroutine[Any, Any, web.StreamResponse]
    ) -> web.StreamResponse:
        stats = self._stats
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        stats.enter(wire)
        try:
            return await steps
        finally:
            stats.leave()
            self._tasks.discard(task)

    async def _unknown(self, request: web.Request) -> web.Response:
        method, path = request.method, request.path
        allowed = _ROUTES.get(path)
        if allowed is None:
            return web.Response(status=404, body=invalid_url(method, path), content_type=JSON)
        return web.Response(
            status=405,
            body=invalid_method(method, path),
            content_type=JSON,
            headers={"Allow": ", ".join(allowed)},
        )

    async def _models(self, request: web.Request) -> web.Response:
        return web.Response(body=self._models_body, content_type=JSON)

    async def _stats_view(self, request: web.Request) -> web.Response:
        return web.Response(body=dumps(self.stats()), content_type=JSON)

    async def _reset_view(self, request: web.Request) -> web.Response:
        self.reset_stats()
        return web.Response(body=dumps(self.stats()), content_type=JSON)


def serve(config: SimConfig | None = None, **options: Any) -> Simulator:
    """``async with serve(**options) as sim``: a simulator in the running loop, on a free port."""
    return Simulator(config, **options)


async def _serve_until_signalled(config: SimConfig) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows / not main
            pass
    try:
        async with Simulator(config) as sim:
            print(LISTENING_LINE.format(base_url=sim.base_url), flush=True)
            await stop.wait()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


def run(config: SimConfig, loop: LoopKind = "uvloop") -> None:
    """Serve until SIGINT/SIGTERM (blocking; the ``fastcrew sim`` command)."""
    with contextlib.suppress(KeyboardInterrupt):  # where signal handlers are unsupported
        run_loop(_serve_until_signalled(config), loop=loop)
