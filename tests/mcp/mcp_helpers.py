"""Helpers for the MCP tests: the test server, configs that get their own session, polling."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastcrew.mcp import MCPServerStdio, MCPTool, mcp_tools

SERVER = str(Path(__file__).with_name("servers") / "basic.py")


def stdio(**kwargs: Any) -> MCPServerStdio:
    """A config for the test server; a fresh tag in its env gives it its own session."""
    env = {"MCP_TEST_TAG": uuid.uuid4().hex, **kwargs.pop("env", {})}
    return MCPServerStdio(command=sys.executable, args=[SERVER], env=env, **kwargs)


async def tools_of(mcps: list[Any], agent: Any = None) -> dict[str, MCPTool]:
    """``{original tool name: tool}`` of ``mcps``."""
    found = await mcp_tools(mcps, agent)
    assert all(isinstance(tool, MCPTool) for tool in found)
    return {tool.original_tool_name: tool for tool in found}  # type: ignore[attr-defined]


async def server_pid(tool: MCPTool) -> int:
    """The pid the server's ``pid`` tool reports (the call must succeed)."""
    result = await tool.ainvoke({})
    assert not result.error, result.text
    return int(json.loads(result.text)["pid"])


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "it") -> Any:
    """Poll ``predicate`` until it is truthy (returned), or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return value


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "\nState:\tZ" not in status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def http_server(kind: str = "http", port: int | None = None) -> Iterator[tuple[str, int, Any]]:
    """``basic.py`` over ``kind`` (``http`` or ``sse``) on 127.0.0.1: ``(url, port, process)``."""
    port = port or free_port()
    process = subprocess.Popen([sys.executable, SERVER, kind, str(port)])
    try:
        wait_for(lambda: listening(port) or process.poll() is not None, what="the server")
        assert process.poll() is None, "the MCP test server did not start"
        path = "/mcp" if kind == "http" else "/sse"
        yield f"http://127.0.0.1:{port}{path}", port, process
    finally:
        process.kill()
        process.wait(10)


def server_pids(directory: Path) -> dict[int, int]:
    """``{server pid: its parent's pid}`` from a ``$MCP_TEST_PID_DIR``."""
    return {int(p.name): int(p.read_text() or 0) for p in directory.iterdir() if p.read_text()}


def environ_with(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}
