"""MCP server configs, as ``crewai.mcp`` has them, plus fastcrew's timeouts.

``MCPServerStdio`` (a local process), ``MCPServerHTTP`` (streamable HTTP) and
``MCPServerSSE``. Configs that name the same server (same command, args and env; same URL,
headers and transport) share one session per process, whatever their filters or timeouts.
Header and env values never appear in reprs or error messages, nor do URL credentials and
query values.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, Field

from .filters import ToolFilter
from .names import ensure_letter_prefix, safe_url, url_server_name

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DISCOVERY_TIMEOUT",
    "MCPServerConfig",
    "MCPServerHTTP",
    "MCPServerSSE",
    "MCPServerStdio",
]

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to start the transport and ``initialize`` the session (CrewAI's
``MCP_CONNECTION_TIMEOUT``)."""
DEFAULT_CALL_TIMEOUT = 30.0
"""Seconds one tool call may take (CrewAI's ``MCP_TOOL_EXECUTION_TIMEOUT``)."""
DEFAULT_DISCOVERY_TIMEOUT = 15.0
"""Seconds to list the server's tools (CrewAI's ``MCP_DISCOVERY_TIMEOUT``)."""

_MASK = "***"


class _Server(BaseModel):
    """What every server config has."""

    tool_filter: ToolFilter | None = Field(
        default=None, description="Keeps the tools it returns true for (see filters.py)."
    )
    cache_tools_list: bool = Field(
        default=False,
        description="Accepted for CrewAI compatibility: fastcrew lists a server's tools "
        "once per process anyway.",
    )
    connect_timeout: float = Field(default=DEFAULT_CONNECT_TIMEOUT, gt=0)
    call_timeout: float = Field(default=DEFAULT_CALL_TIMEOUT, gt=0)
    discovery_timeout: float = Field(default=DEFAULT_DISCOVERY_TIMEOUT, gt=0)

    def transport_key(self) -> tuple[Any, ...]:
        """What identifies the server: configs with equal keys share one session."""
        raise NotImplementedError

    def server_name(self) -> str:
        """The prefix of its tools' names (CrewAI's)."""
        raise NotImplementedError

    def display(self) -> str:
        """The server for messages, without secrets."""
        raise NotImplementedError

    def _secrets(self) -> Iterator[str]:
        return iter(())

    def redact(self, text: str) -> str:
        """``text`` with every secret value of this config replaced by ``***``."""
        for secret in sorted(set(self._secrets()), key=len, reverse=True):
            if len(secret) >= 3:
                text = text.replace(secret, _MASK)
        return text

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name in ("headers", "env") and value:
                yield name, dict.fromkeys(value, _MASK)
            elif name == "url":
                yield name, safe_url(value)
            else:
                yield name, value


class _UrlServer(_Server):
    url: str = Field(..., description="The server's URL (https://..., or http://...).")
    headers: dict[str, str] | None = Field(default=None, description="HTTP headers to send.")

    def server_name(self) -> str:
        return url_server_name(self.url)

    def display(self) -> str:
        return safe_url(self.url)

    def _secrets(self) -> Iterator[str]:
        yield from (self.headers or {}).values()
        parts = urlsplit(self.url)
        userinfo = parts.netloc.rpartition("@")[0]
        if userinfo:
            yield userinfo
            yield from userinfo.split(":")
        yield from (value for _, value in parse_qsl(parts.query))

    def _headers_key(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((self.headers or {}).items()))


class MCPServerStdio(_Server):
    """A local MCP server process talking over stdin/stdout, started on first use and
    killed with the process that started it."""

    command: str = Field(..., description="Command to execute (python, node, npx, uvx).")
    args: list[str] = Field(default_factory=list, description="Command arguments.")
    env: dict[str, str] | None = Field(
        default=None,
        description="Environment variables, over the MCP SDK's default environment.",
    )

    def transport_key(self) -> tuple[Any, ...]:
        env = tuple(sorted(self.env.items())) if self.env else ()
        return ("stdio", self.command, tuple(self.args), env)

    def server_name(self) -> str:
        return ensure_letter_prefix(f"{self.command}_{'_'.join(self.args)}")

    def display(self) -> str:
        return self.redact(shlex.join([self.command, *self.args]))

    def _secrets(self) -> Iterator[str]:
        yield from (self.env or {}).values()


class MCPServerHTTP(_UrlServer):
    """A remote MCP server over streamable HTTP. ``streamable=False`` is accepted and
    changes nothing: CrewAI uses the streamable HTTP client either way."""

    streamable: bool = Field(default=True)

    def transport_key(self) -> tuple[Any, ...]:
        return ("http", self.url, self._headers_key())


class MCPServerSSE(_UrlServer):
    """A remote MCP server over the (older) HTTP + Server-Sent Events transport."""

    def transport_key(self) -> tuple[Any, ...]:
        return ("sse", self.url, self._headers_key())


MCPServerConfig: TypeAlias = MCPServerStdio | MCPServerHTTP | MCPServerSSE
