"""MCP servers' tools for agents: CrewAI's ``crewai.mcp`` surface (docs/mcp.md).

``Agent(mcps=[...])`` takes ``"https://..."`` strings (``#tool_name`` for one tool) and the
configs here. Importing this package loads configs and filters only; the MCP SDK
(``pip install 'fastcrew[mcp]'``) is imported on the first connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from .config import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DISCOVERY_TIMEOUT,
    MCPServerConfig,
    MCPServerHTTP,
    MCPServerSSE,
    MCPServerStdio,
)
from .errors import MCPConnectionError, MCPError, MCPTimeoutError, MCPToolError
from .filters import (
    StaticToolFilter,
    ToolFilter,
    ToolFilterContext,
    create_dynamic_tool_filter,
    create_static_tool_filter,
)
from .refs import check_mcps

if TYPE_CHECKING:
    from .session import close_sessions
    from .tools import MCPTool, mcp_tools

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DISCOVERY_TIMEOUT",
    "MCPConnectionError",
    "MCPError",
    "MCPServerConfig",
    "MCPServerHTTP",
    "MCPServerSSE",
    "MCPServerStdio",
    "MCPTimeoutError",
    "MCPTool",
    "MCPToolError",
    "StaticToolFilter",
    "ToolFilter",
    "ToolFilterContext",
    "check_mcps",
    "close_sessions",
    "create_dynamic_tool_filter",
    "create_static_tool_filter",
    "mcp_tools",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "MCPTool": f"{__name__}.tools",
        "close_sessions": f"{__name__}.session",
        "mcp_tools": f"{__name__}.tools",
    },
)
