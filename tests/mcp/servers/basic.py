"""A small MCP server for the tests (FastMCP, the SDK's own server).

``python basic.py`` serves stdio; ``python basic.py http <port>`` streamable HTTP and
``python basic.py sse <port>`` SSE, on 127.0.0.1. With ``$MCP_TEST_PID_DIR`` set it writes
``<dir>/<pid>`` holding its parent's pid at start; with ``$MCP_TEST_MARK_DIR`` set, ``slow``
touches ``<dir>/slow-<pid>`` when a call starts.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp.server.fastmcp import Context, FastMCP

server = FastMCP("basic", log_level="WARNING")
_sessions: set[int] = set()
_inits = 0


@server.tool()
def add(a: int, b: int) -> str:
    """Add two integers."""
    return f"SUM={a + b}"


@server.tool()
def echo(text: str) -> str:
    """Echo the text back."""
    return f"ECHO:{text}"


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep for some seconds, then answer."""
    mark = os.environ.get("MCP_TEST_MARK_DIR")
    if mark:  # tells a test the call has reached the server
        Path(mark, f"slow-{os.getpid()}").touch()  # noqa: ASYNC240 - tiny, before the wait
    await anyio.sleep(seconds)
    return f"SLEPT {seconds}"


@server.tool()
def fail(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"FAILED because {reason}")


@server.tool()
def pid(ctx: Context) -> str:  # type: ignore[type-arg]
    """The server's process id and how many sessions it has seen."""
    _sessions.add(id(ctx.session))
    return json.dumps({"pid": os.getpid(), "sessions": len(_sessions), "inits": _inits})


@server.tool()
def getenv(name: str) -> str:
    """An environment variable of the server."""
    return os.environ.get(name, "<unset>")


@server.tool()
def header(name: str, ctx: Context) -> str:  # type: ignore[type-arg]
    """An HTTP header of the request (HTTP transports)."""
    request = ctx.request_context.request
    return str(request.headers.get(name, "<unset>")) if request is not None else "<stdio>"


@server.tool(name="getUserInfo")
def get_user_info(user: str) -> str:
    """Look a user up (a camelCase tool name)."""
    return f"USER {user}"


@server.tool()
def danger_delete(path: str) -> str:
    """Delete a path (never offered: filtered out)."""
    return f"DELETED {path}"


def _counting(app: Any) -> Any:
    """Count streamable HTTP session starts: POSTs without a session id."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        global _inits
        if scope["type"] == "http" and scope["method"] in ("POST", "GET"):
            names = {name for name, _ in scope["headers"]}
            if b"mcp-session-id" not in names and scope["path"] in ("/mcp", "/sse"):
                _inits += 1
        await app(scope, receive, send)

    return wrapped


def main() -> None:
    pid_dir = os.environ.get("MCP_TEST_PID_DIR")
    if pid_dir:
        Path(pid_dir, str(os.getpid())).write_text(str(os.getppid()))
    if len(sys.argv) == 1:
        global _inits
        _inits = 1
        server.run("stdio")
        return
    import uvicorn

    kind, port = sys.argv[1], int(sys.argv[2])
    app = server.streamable_http_app() if kind == "http" else server.sse_app()
    uvicorn.run(_counting(app), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
