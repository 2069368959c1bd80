"""One shared MCP session per server per process, on the runtime's home loop.

A :class:`Server` (one per :meth:`~config._Server.transport_key` in a runtime) opens its
session on first use — the transport and ``ClientSession`` held open by one background
task (``_sdk.hold``) — lists its tools once, and serves every call of every run through
that session (the SDK multiplexes requests). Every method runs on the home loop; callers
elsewhere go through :meth:`~fastcrew.process_runtime.Runtime.on_home_loop`.

When the transport ends (a stdio server killed, an HTTP server gone), the calls in flight
fail with :class:`~fastcrew.mcp.errors.MCPConnectionError`, the session is torn down and
the next call opens a new one; concurrent callers share that one reconnect. The tool list
is not fetched again. Sessions close with the home loop (``Runtime.close``, at exit, or a
batch worker's loop ending); stdio servers also die with their process (``_child.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Awaitable
from typing import Any, TypeVar

from ..process_runtime import Runtime, get_runtime
from ..tools.json_schema import compile_schema, json_schema_problems
from .config import MCPServerConfig
from .errors import MCPConnectionError, MCPError, MCPTimeoutError, MCPToolError

__all__ = ["Server", "close_sessions", "server_for"]

T = TypeVar("T")


class Live:
    """One open session: set up by ``_sdk.hold`` in its owner task."""

    __slots__ = ("gone", "owner", "ready", "session", "stopping")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.session: Any = None
        self.ready: asyncio.Future[None] = loop.create_future()
        self.gone: asyncio.Future[None] = loop.create_future()
        """Done when the transport has ended (or the owner task has)."""
        self.stopping = asyncio.Event()
        self.owner: asyncio.Task[None] | None = None

    def opened(self, session: Any) -> None:
        self.session = session
        if not self.ready.done():
            self.ready.set_result(None)

    def lost(self) -> None:
        if not self.gone.done():
            self.gone.set_result(None)
        self.stopping.set()

    def ended(self, owner: asyncio.Task[None]) -> None:
        error = None if owner.cancelled() else owner.exception()
        if not self.ready.done():
            self.ready.set_exception(error or ConnectionError("the session closed"))
            self.ready.exception()  # retrieved: the opener reports it
        self.lost()


class Server:
    """One MCP server of this process (see the module docstring)."""

    def __init__(self, config: MCPServerConfig) -> None:
        self.config = config
        self.name = config.server_name()
        self.tools: list[dict[str, Any]] | None = None
        """The server's tools as filter dicts, once listed."""
        self.sessions_opened = 0
        self._outputs: dict[str, Any] = {}
        """Output-schema validators by the server's tool name."""
        self._live: Live | None = None
        self._opening: asyncio.Task[Live] | None = None
        self._listing: asyncio.Task[list[dict[str, Any]]] | None = None

    def __repr__(self) -> str:
        return f"Server({self.config.display()!r}, sessions_opened={self.sessions_opened})"

    async def list_tools(self, config: MCPServerConfig) -> list[dict[str, Any]]:
        """The tools, listed once per process (within ``discovery_timeout``)."""
        if self.tools is not None:
            return self.tools
        if self._listing is None:
            self._listing = asyncio.ensure_future(self._list(config))
            self._listing.add_done_callback(self._listed)
        return await asyncio.shield(self._listing)

    async def _list(self, config: MCPServerConfig) -> list[dict[str, Any]]:
        from . import _sdk

        live = await self._session(config)
        listing = _sdk.list_tools(live.session)
        tools = await self._request(live, listing, config, "tools/list", config.discovery_timeout)
        for tool in tools:
            if isinstance(tool.get("outputSchema"), dict):
                with contextlib.suppress(ValueError):  # an invalid one is not checked
                    self._outputs[tool["original_name"]] = compile_schema(tool["outputSchema"])
        self.tools = tools
        return tools

    def _listed(self, task: asyncio.Task[list[dict[str, Any]]]) -> None:
        self._listing = None
        if not task.cancelled():
            task.exception()

    async def call(
        self, config: MCPServerConfig, name: str, arguments: dict[str, Any]
    ) -> tuple[str, bool]:
        """Call tool ``name`` within ``call_timeout``: ``(text, is_error)``."""
        from . import _sdk

        live = await self._session(config)
        calling = _sdk.call_tool(live.session, name, arguments)
        result = await self._request(live, calling, config, f"tool {name!r}", config.call_timeout)
        check = self._outputs.get(name)
        if check is not None and not result.isError:
            content = result.structuredContent
            problems = "none given" if content is None else json_schema_problems(check, content)
            if problems:
                raise MCPToolError(
                    f"tool {name!r} answered with structured content that does not match its "
                    f"output schema: {problems}"
                )
        return _sdk.result_text(result)

    async def _request(
        self, live: Live, coro: Awaitable[T], config: MCPServerConfig, what: str, limit: float
    ) -> T:
        """``coro`` on ``live``'s session, racing the session's end and ``limit`` seconds."""
        from . import _sdk

        task = asyncio.ensure_future(coro)
        try:
            done, _ = await asyncio.wait(
                (task, live.gone), timeout=limit, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not task.done():
                task.cancel()
            task.add_done_callback(_retrieve)
        error: BaseException | None = None
        if task in done:
            if task.cancelled():  # not by us: the session's own teardown
                error = ConnectionError("the request was cancelled")
            elif (error := task.exception()) is None:
                return task.result()
        if live.gone.done() or (error is not None and _sdk.is_connection_lost(error)):
            self._drop(live)
            detail = f" ({_sdk.error_message(error)})" if error is not None else ""
            raise MCPConnectionError(
                config.redact(
                    f"the connection to MCP server {config.display()} was lost during "
                    f"{what}{detail}; the next call reconnects"
                )
            )
        if error is not None:
            kind = MCPToolError if _sdk.is_server_answer(error) else MCPError
            raise kind(config.redact(f"{what} failed: {_sdk.error_message(error)}"))
        raise MCPTimeoutError(
            f"MCP server {config.display()}: no answer to {what} within {limit:g} s"
        )

    async def _session(self, config: MCPServerConfig) -> Live:
        """The open session, opening one if there is none (callers share one attempt)."""
        live = self._live
        if live is not None and not live.gone.done():
            return live
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._open(config))
            self._opening.add_done_callback(self._opened)
        return await asyncio.shield(self._opening)

    async def _open(self, config: MCPServerConfig) -> Live:
        from . import _sdk

        loop = asyncio.get_running_loop()
        _registry(get_runtime()).close_on_shutdown()
        live = Live(loop)
        live.owner = loop.create_task(_sdk.hold(config, live), name=f"mcp {self.name}")
        live.owner.add_done_callback(live.ended)
        self.sessions_opened += 1
        try:
            await asyncio.wait((live.ready, live.gone), return_when=asyncio.FIRST_COMPLETED)
            if not live.ready.done():
                await asyncio.wait((live.ready,), timeout=_sdk.CLOSE_TIMEOUT)
            if not live.ready.done() or live.ready.exception() is not None:
                error = live.ready.exception() if live.ready.done() else None
                detail = _sdk.error_message(error) if error else "the connection closed"
                kind = MCPTimeoutError if isinstance(error, TimeoutError) else MCPConnectionError
                message = f"cannot connect to MCP server {config.display()}: {detail}"
                raise kind(config.redact(message))
        except BaseException:
            live.stopping.set()
            raise
        return live

    def _opened(self, task: asyncio.Task[Live]) -> None:
        self._opening = None
        if not task.cancelled() and task.exception() is None:
            self._live = task.result()

    def _drop(self, live: Live) -> None:
        if self._live is live:
            self._live = None
        live.stopping.set()

    async def aclose(self) -> None:
        """Close the session (the next call opens a new one)."""
        if self._opening is not None:
            self._opening.cancel()
        live, self._live = self._live, None
        if live is not None and live.owner is not None:
            live.stopping.set()
            await asyncio.wait((live.owner,))


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


class _Registry:
    """The servers of one runtime."""

    def __init__(self) -> None:
        self.servers: dict[tuple[Any, ...], Server] = {}
        self._lock = threading.Lock()

    def server(self, config: MCPServerConfig) -> Server:
        key = config.transport_key()
        found = self.servers.get(key)
        if found is None:
            with self._lock:
                found = self.servers.setdefault(key, Server(config))
        return found

    def close_on_shutdown(self) -> None:
        """Close the sessions when the running loop (the home loop) shuts down — after it
        has cancelled its tasks, which closes them already: this is for loops that don't."""
        state = get_runtime().loop_state()
        if state.resources.get("fastcrew.mcp") is not self:
            state.resources["fastcrew.mcp"] = self
            state.on_close(self.aclose)

    async def aclose(self) -> None:
        servers = list(self.servers.values())
        await asyncio.gather(*(server.aclose() for server in servers), return_exceptions=True)


_registries: weakref.WeakKeyDictionary[Runtime, _Registry] = weakref.WeakKeyDictionary()
_registries_lock = threading.Lock()


def _registry(runtime: Runtime) -> _Registry:
    found = _registries.get(runtime)
    if found is None:
        with _registries_lock:
            found = _registries.setdefault(runtime, _Registry())
    return found


def server_for(config: MCPServerConfig) -> Server:
    """This process's :class:`Server` for ``config`` (made on first use, no I/O)."""
    return _registry(get_runtime()).server(config)


async def close_sessions() -> None:
    """Close every MCP session of this process now (they reopen on the next call)."""
    runtime = get_runtime()
    await runtime.on_home_loop(_registry(runtime).aclose())
