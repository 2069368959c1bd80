"""``Agent(mcps=[...])`` entries: configs, and CrewAI's string references.

- ``"https://host/path"`` → the streamable HTTP server at that URL (every tool);
- ``"https://host/path#tool_name"`` → only that tool (compared sanitized, as CrewAI does);
- ``http://`` is accepted too (a server on 127.0.0.1 or inside a private network); CrewAI
  takes only ``https://``.

CrewAI AMP references (``"notion"``, ``"notion#search"``, ``"crewai-amp:notion"``) need
CrewAI's platform account and are refused with what to write instead.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigurationError
from .config import MCPServerConfig, MCPServerHTTP, MCPServerSSE, MCPServerStdio
from .names import safe_url, sanitize_tool_name

__all__ = ["check_mcps", "parse_ref"]

_CONFIGS = (MCPServerStdio, MCPServerHTTP, MCPServerSSE)
_ACCEPTED = (
    "'https://...' URLs (with '#tool_name' for one tool) and fastcrew.mcp configs "
    "(MCPServerStdio, MCPServerHTTP, MCPServerSSE)"
)


@functools.lru_cache(maxsize=1024)
def parse_ref(ref: str) -> tuple[MCPServerHTTP, str | None]:
    """``(config, sanitized tool name or None)`` for a string reference; one config object
    per distinct string (so its tools are resolved once)."""
    url, _, tool = ref.strip().partition("#")
    parts = urlsplit(url)
    if parts.scheme in ("https", "http") and parts.hostname:
        return MCPServerHTTP(url=url), (sanitize_tool_name(tool) if tool else None)
    if parts.scheme in ("https", "http"):
        raise ConfigurationError(f"mcps: {safe_url(url)!r} is not a URL with a host name.")
    raise ConfigurationError(
        f"mcps: {ref!r} is not supported. fastcrew does not resolve CrewAI AMP references "
        "('notion', 'notion#search', 'crewai-amp:...'): they need a CrewAI platform account. "
        "Give the server's URL ('https://mcp.example.com/mcp', '#tool_name' for one tool) or "
        "a config: MCPServerHTTP(url=..., headers=...), MCPServerSSE(url=...) or "
        "MCPServerStdio(command=..., args=[...]) from fastcrew.mcp."
    )


def check_mcps(value: Any) -> list[str | MCPServerConfig]:
    """The ``mcps`` list as given (None → ``[]``); a CrewAI config object becomes the
    fastcrew one. Anything else is a :class:`~fastcrew.errors.ConfigurationError` naming the
    kinds accepted."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ConfigurationError(f"mcps takes a list of {_ACCEPTED}; got {_kind(value)}.")
    checked: list[str | MCPServerConfig] = []
    for item in value:
        if isinstance(item, str):
            parse_ref(item)
            checked.append(item)
        elif isinstance(item, _CONFIGS):
            checked.append(item)
        elif (converted := _from_crewai(item)) is not None:
            checked.append(converted)
        else:
            raise ConfigurationError(f"mcps takes {_ACCEPTED}; got {_kind(item)}.")
    return checked


def _from_crewai(item: Any) -> MCPServerConfig | None:
    """A ``crewai.mcp`` config as the fastcrew config of the same name (same fields)."""
    cls = type(item)
    if not cls.__module__.startswith("crewai.") or not hasattr(item, "model_dump"):
        return None
    ours = {c.__name__: c for c in _CONFIGS}.get(cls.__name__)
    if ours is None:
        return None
    fields = {k: v for k, v in item.model_dump().items() if k in ours.model_fields}
    fields["tool_filter"] = getattr(item, "tool_filter", None)  # not copied by model_dump
    return ours(**fields)


def _kind(value: Any) -> str:
    return f"a {type(value).__module__}.{type(value).__qualname__}"
