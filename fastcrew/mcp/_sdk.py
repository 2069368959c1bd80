"""The only module that imports the ``mcp`` SDK (its 1.x client API: ``mcp>=1.9,<2``).

:func:`hold` opens one server's transport and ``ClientSession`` and keeps them open in the
task that runs it (anyio context managers must be left in the task that entered them)
until told to stop; ``session.py`` runs it on the runtime's home loop.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

try:
    import mcp
    from mcp import types
    from mcp.client.sse import sse_client
    from mcp.client.stdio import StdioServerParameters, get_default_environment, stdio_client
    from mcp.shared.exceptions import McpError
except ImportError as exc:  # pragma: no cover - the extra is missing
    from ..errors import ConfigurationError

    raise ConfigurationError(
        "MCP servers need the MCP SDK: pip install 'fastcrew[mcp]' (mcp>=1.9,<2)."
    ) from exc

from .config import MCPServerConfig, MCPServerHTTP, MCPServerSSE, MCPServerStdio

__all__ = ["Holder", "call_tool", "hold", "is_connection_lost", "list_tools", "result_text"]

CLOSE_TIMEOUT = 5.0
"""Seconds a session gets to shut down (a stdio server: stdin closed, then SIGTERM)."""
_CHILD = str(Path(__file__).parent.parent / "_child.py")  # fastcrew/_child.py
_SESSION_TERMINATED = 32600  # the streamable HTTP client's code for a 404 on a session
_CONNECTION_CLOSED = getattr(types, "CONNECTION_CLOSED", -32000)


class Holder(Protocol):
    """What :func:`hold` reports to (``session.Live``); ``stopping`` is an asyncio.Event."""

    stopping: Any

    def opened(self, session: Any) -> None: ...

    def lost(self) -> None: ...


async def hold(config: MCPServerConfig, holder: Holder) -> None:
    """Open, initialize (within ``connect_timeout``), report ``holder.opened(session)``,
    wait for ``holder.stopping``, close. ``holder.lost()`` when the transport ends."""
    opened = False
    with anyio.CancelScope() as scope:
        scope.deadline = anyio.current_time() + config.connect_timeout
        async with _transport(config) as (read, write), anyio.create_task_group() as pumps:
            send, receive = anyio.create_memory_object_stream[Any](0)
            pumps.start_soon(_pump, read, send, holder)
            async with mcp.ClientSession(receive, write) as session:
                await session.initialize()
                scope.deadline = math.inf
                holder.opened(session)
                opened = True
                await holder.stopping.wait()
                scope.deadline = anyio.current_time() + CLOSE_TIMEOUT
            pumps.cancel_scope.cancel()
    if scope.cancelled_caught and not opened:
        raise TimeoutError(f"no answer within connect_timeout={config.connect_timeout:g} s")


async def _pump(
    read: MemoryObjectReceiveStream[Any], send: MemoryObjectSendStream[Any], holder: Holder
) -> None:
    """Pass the transport's messages on; its end means the connection is lost."""
    try:
        async with send:
            async for message in read:
                await send.send(message)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass
    finally:
        holder.lost()


@asynccontextmanager
async def _transport(config: MCPServerConfig) -> AsyncIterator[tuple[Any, Any]]:
    if isinstance(config, MCPServerStdio):
        async with stdio_client(_stdio_parameters(config)) as (read, write):
            yield read, write
    elif isinstance(config, MCPServerSSE):
        async with sse_client(config.url, headers=config.headers) as (read, write):
            yield read, write
    elif isinstance(config, MCPServerHTTP):
        async with _streamable_http(config) as (read, write):
            yield read, write
    else:  # pragma: no cover - check_mcps lets nothing else through
        raise TypeError(f"not an MCP server config: {type(config).__name__}")


@asynccontextmanager
async def _streamable_http(config: MCPServerHTTP) -> AsyncIterator[tuple[Any, Any]]:
    from mcp.client import streamable_http

    new_api = getattr(streamable_http, "streamable_http_client", None)
    if new_api is not None:  # mcp >= 1.2x: headers go on the httpx client
        from mcp.shared._httpx_utils import create_mcp_http_client

        async with (
            create_mcp_http_client(headers=config.headers) as client,
            new_api(config.url, http_client=client) as (read, write, _),
        ):
            yield read, write
    else:
        async with streamable_http.streamablehttp_client(config.url, headers=config.headers) as (
            read,
            write,
            _,
        ):
            yield read, write


def _stdio_parameters(config: MCPServerStdio) -> StdioServerParameters:
    """The command (through ``_child.py`` on Linux), with ``env`` over the SDK's default
    environment (as CrewAI passes it)."""
    env = get_default_environment()
    env.update(config.env or {})
    if shutil.which(config.command, path=env.get("PATH")) is None:
        raise FileNotFoundError(f"command not found: {config.command!r}")
    command, args = config.command, list(config.args)
    if sys.platform == "linux" and sys.executable:
        args = ["-I", "-S", _CHILD, str(os.getpid()), command, *args]
        command = sys.executable
    return StdioServerParameters(command=command, args=args, env=env)


async def list_tools(session: Any) -> list[dict[str, Any]]:
    """Every tool of the server (all pages) as CrewAI's filter dicts."""
    from .names import sanitize_tool_name

    found: list[Any] = []
    page = await session.list_tools()
    found += page.tools
    while page.nextCursor:
        page = await session.list_tools(cursor=page.nextCursor)
        found += page.tools
    return [
        {
            "name": sanitize_tool_name(tool.name),
            "original_name": tool.name,
            "description": tool.description or "",
            "inputSchema": tool.inputSchema or {"type": "object"},
            "outputSchema": getattr(tool, "outputSchema", None),
        }
        for tool in found
    ]


async def call_tool(session: Any, name: str, arguments: dict[str, Any]) -> Any:
    """``tools/call`` through the session's request API. The SDK's ``call_tool`` also checks
    structured content with ``jsonschema.validate``, which checks the output schema itself
    again on every call (~1 ms of CPU) and lists the tools again on a new session;
    ``session.py`` checks it with a validator compiled once per tool instead."""
    params = types.CallToolRequestParams(name=name, arguments=arguments)
    request = types.ClientRequest(types.CallToolRequest(params=params))
    return await session.send_request(request, types.CallToolResult)


def result_text(result: Any) -> tuple[str, bool]:
    """A ``CallToolResult`` as ``(text, is_error)``: text blocks (and embedded text
    resources) one per line, other blocks as ``[type: mime or uri]`` (no base64), as CrewAI
    writes them; without content blocks, the structured content as JSON."""
    parts: list[str] = []
    for block in result.content or ():
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.EmbeddedResource):
            resource = block.resource
            if isinstance(resource, types.TextResourceContents):
                parts.append(resource.text)
            else:
                parts.append(f"[{block.type}: {resource.uri}]")
        elif isinstance(block, types.ImageContent | types.AudioContent):
            parts.append(f"[{block.type}: {block.mimeType}]")
        elif block.type == "resource_link":
            parts.append(f"[{block.type}: {getattr(block, 'uri', '')}]")
        else:
            parts.append(str(block))
    structured = getattr(result, "structuredContent", None)
    if not parts and structured is not None:
        from .._json import dumps

        parts.append(dumps(structured).decode())
    return "\n".join(parts), bool(result.isError)


def is_connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` (or one inside an exception group) means the transport is gone."""
    if isinstance(exc, BaseExceptionGroup):
        return any(is_connection_lost(inner) for inner in exc.exceptions)
    if isinstance(exc, McpError):
        code = exc.error.code
        return code in (_CONNECTION_CLOSED, _SESSION_TERMINATED)
    import httpx

    return isinstance(
        exc,
        OSError
        | EOFError
        | anyio.ClosedResourceError
        | anyio.BrokenResourceError
        | anyio.EndOfStream
        | httpx.TransportError,
    )


def is_server_answer(exc: BaseException) -> bool:
    """Whether ``exc`` is the server's JSON-RPC error answer (an unknown tool, ...)."""
    return isinstance(exc, McpError) and not is_connection_lost(exc)


def error_message(exc: BaseException) -> str:
    """``exc`` (the first leaf of an exception group) as ``Type: message``."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, McpError):
        return exc.error.message
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
