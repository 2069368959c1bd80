"""Names as CrewAI gives them to MCP tools: ``f"{server_name}_{tool_name}"``.

- a tool's name is ``sanitize_tool_name(name)`` (CrewAI's: ASCII, camelCase split, lower
  case, runs of other characters → ``_``, at most 64 characters with a hash suffix); the
  server is called with the original name;
- an HTTP or SSE server's name is its host and path (``api.example.com/mcp`` →
  ``api_example_com_mcp``), without URL credentials; a stdio server's is
  ``f"{command}_{'_'.join(args)}"``; either gets an ``mcp_`` prefix when it does not start
  with a letter (an IP address).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import SplitResult, urlsplit

__all__ = ["ensure_letter_prefix", "safe_url", "sanitize_tool_name", "url_server_name"]

MAX_TOOL_NAME = 64
_QUOTES = re.compile(r"['\"]+")
_CAMEL_UPPER_LOWER = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_LOWER_UPPER = re.compile(r"([a-z])([A-Z])")
_OTHER = re.compile(r"[^a-zA-Z0-9]+")
_UNDERSCORES = re.compile(r"_+")


def sanitize_tool_name(name: str, max_length: int = MAX_TOOL_NAME) -> str:
    """``name`` as CrewAI's ``sanitize_tool_name`` writes it (``"getUser Info"`` →
    ``get_user_info``)."""
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    name = _CAMEL_LOWER_UPPER.sub(r"\1_\2", _CAMEL_UPPER_LOWER.sub(r"\1_\2", name)).lower()
    name = _UNDERSCORES.sub("_", _OTHER.sub("_", _QUOTES.sub("", name))).strip("_")
    if len(name) > max_length:
        suffix = f"_{hashlib.sha256(name.encode()).hexdigest()[:8]}"
        name = name[: max_length - len(suffix)].rstrip("_") + suffix
    return name


def ensure_letter_prefix(server_name: str) -> str:
    """``mcp_`` + the name when its sanitized form does not start with a letter."""
    return server_name if sanitize_tool_name(server_name)[:1].isalpha() else f"mcp_{server_name}"


def url_server_name(url: str) -> str:
    """CrewAI's server name for a URL: host and path with ``_``, credentials dropped."""
    parts = urlsplit(url)
    domain = parts.netloc.rpartition("@")[2].replace(".", "_")
    path = parts.path.replace("/", "_").strip("_")
    return ensure_letter_prefix(f"{domain}_{path}" if path else domain)


def safe_url(url: str) -> str:
    """``url`` fit for messages and reprs: credentials and query values masked, no fragment."""
    parts = urlsplit(url)
    netloc = parts.netloc
    _, at, host = netloc.rpartition("@")
    if at:
        netloc = f"***@{host}"
    query = "&".join(
        f"{item.partition('=')[0]}=***" if "=" in item else item
        for item in parts.query.split("&")
        if item
    )
    return SplitResult(parts.scheme, netloc, parts.path, query, "").geturl()
