"""An agent's MCP tools: :func:`mcp_tools` resolves ``Agent.mcps`` to :class:`MCPTool` s.

The first resolution of a server connects and lists its tools (once per process); then the
filter picks the agent's tools. Results are kept per (server, filter, ``#tool``, agent), so
a task that starts with its agent's servers resolved costs a few dict lookups and no I/O.
Each tool calls its server through the process's shared session (``session.py``).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import PrivateAttr

from ..errors import ToolDefinitionError
from ..process_runtime import get_runtime
from ..tools import BaseTool
from ..tools.json_schema import JsonSchemaTool
from .config import MCPServerConfig
from .errors import MCPToolError
from .filters import ToolFilterContext, apply_filter
from .refs import parse_ref
from .session import server_for

__all__ = ["MCPTool", "mcp_tools"]

log = logging.getLogger("fastcrew.mcp")

MAX_CACHED = 10_000
"""Resolutions kept (per server, filter, ``#tool`` and agent) before the cache starts over."""


class MCPTool(JsonSchemaTool):
    """One tool of an MCP server, named ``f"{server_name}_{tool_name}"`` as in CrewAI;
    arguments are checked against the server's ``inputSchema`` before the call."""

    server_name: str
    original_tool_name: str
    """The tool's name on the server (``name`` ends with its sanitized form)."""

    _config: Any = PrivateAttr(default=None)

    async def _arun(self, **arguments: Any) -> str:
        config: MCPServerConfig = self._config
        server = server_for(config)
        values = {key: value for key, value in arguments.items() if value is not None}
        text, is_error = await get_runtime().on_home_loop(
            server.call(config, self.original_tool_name, values)
        )
        if is_error:  # the server ran the tool and reports a failure: an error observation
            raise MCPToolError(text or f"tool {self.original_tool_name!r} reported an error")
        return text


class _Entry:
    __slots__ = ("agent", "config", "tool_filter", "tools")

    def __init__(
        self, config: MCPServerConfig, agent: Callable[[], Any], tools: list[BaseTool]
    ) -> None:
        self.config = config
        self.tool_filter = config.tool_filter
        self.agent = agent
        self.tools = tools


_resolved: dict[tuple[Any, ...], _Entry] = {}
_made: dict[tuple[Any, ...], MCPTool] = {}
_lock = threading.Lock()


async def mcp_tools(mcps: Sequence[str | MCPServerConfig], agent: Any = None) -> list[BaseTool]:
    """The tools of ``mcps`` (``Agent.mcps``, checked by ``check_mcps``) for ``agent``.

    Connects to each server not yet connected (``connect_timeout``) and lists its tools
    (``discovery_timeout``); a server that cannot be reached raises
    :class:`~fastcrew.mcp.errors.MCPConnectionError` (or ``MCPTimeoutError``).
    """
    found: list[BaseTool] = []
    for item in mcps:
        config, pick = parse_ref(item) if isinstance(item, str) else (item, None)
        key = (id(config), pick, id(agent))
        entry = _resolved.get(key)
        if (
            entry is None
            or entry.config is not config
            or entry.tool_filter is not config.tool_filter
            or entry.agent() is not agent
        ):
            entry = await _resolve(config, pick, agent, key)
        found += entry.tools
    return found


async def _resolve(
    config: MCPServerConfig, pick: str | None, agent: Any, key: tuple[Any, ...]
) -> _Entry:
    server = server_for(config)
    listed = server.tools
    if listed is None:
        listed = await get_runtime().on_home_loop(server.list_tools(config))
    if pick is not None:
        listed = [tool for tool in listed if tool["name"] == pick]
        if not listed:
            log.warning("MCP server %s has no tool %r", config.display(), pick)
    kept = await apply_filter(
        config.tool_filter,
        listed,
        lambda: ToolFilterContext(agent=agent, server_name=server.name),
    )
    tools: list[BaseTool] = [_tool(config, server.name, tool) for tool in kept]
    if not tools and pick is None:
        log.warning("MCP server %s: no tools (after its tool_filter)", config.display())
    entry = _Entry(config, _reference(agent, key), tools)
    with _lock:
        if len(_resolved) >= MAX_CACHED:
            _resolved.clear()
        _resolved[key] = entry
    return entry


def _tool(config: MCPServerConfig, server_name: str, tool: dict[str, Any]) -> MCPTool:
    """One object per server tool and call timeout, shared by every agent that has it."""
    key = (config.transport_key(), config.call_timeout, tool["original_name"])
    made = _made.get(key)
    if made is not None:
        return made
    name = f"{server_name}_{tool['name']}"
    fields = {
        "name": name,
        "description": tool["description"] or f"Tool {tool['name']} from {server_name}",
        "server_name": server_name,
        "original_tool_name": tool["original_name"],
    }
    try:
        made = MCPTool(input_schema=tool["inputSchema"], **fields)
    except ToolDefinitionError as exc:  # CrewAI registers such a tool without a typed schema
        log.warning("MCP tool %s: %s; its arguments are not checked", name, exc)
        made = MCPTool(**fields)
    made._config = config
    with _lock:
        if len(_made) >= MAX_CACHED:
            _made.clear()
        return _made.setdefault(key, made)


def _reference(agent: Any, key: tuple[Any, ...]) -> Callable[[], Any]:
    """A weak reference to ``agent`` that forgets its resolutions when it is collected."""
    if agent is None:
        return lambda: None
    try:
        return weakref.ref(agent, lambda _: _resolved.pop(key, None))
    except TypeError:  # not weakly referenceable: keep it
        return lambda: agent
