"""What an MCP server's tools raise; each becomes the model's observation text
(``Error: tool 'x' raised MCPToolError: ...``), never a crash of the run."""

from __future__ import annotations

from ..errors import FastCrewError

__all__ = ["MCPConnectionError", "MCPError", "MCPTimeoutError", "MCPToolError"]


class MCPError(FastCrewError):
    """An MCP server could not serve a request. Messages never contain header or env
    values, URL credentials or query values."""


class MCPConnectionError(MCPError, ConnectionError):
    """The server could not be reached, or its session was lost (the next call reconnects)."""


class MCPTimeoutError(MCPError, TimeoutError):
    """No answer within the config's ``connect_timeout``, ``discovery_timeout`` or
    ``call_timeout``."""


class MCPToolError(MCPError):
    """The server ran the tool and reported a failure (``isError: true``), or refused the
    request with a JSON-RPC error (an unknown tool, bad arguments)."""
