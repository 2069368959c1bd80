"""MCP tools over stdio, through ``mcp_tools`` and ``tool.ainvoke`` (the agent loop's call)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from mcp_helpers import alive, server_pid, stdio, tools_of, wait_for

from fastcrew.mcp import (
    MCPConnectionError,
    MCPServerStdio,
    MCPTimeoutError,
    ToolFilterContext,
    close_sessions,
    create_static_tool_filter,
    mcp_tools,
)
from fastcrew.mcp.session import server_for
from fastcrew.tools import ToolRunState


async def test_tools_are_named_described_and_called_as_in_crewai() -> None:
    config = stdio()
    tools = await tools_of([config])
    assert tools["add"].server_name == config.server_name() == f"{sys.executable}_{config.args[0]}"
    assert tools["add"].name == f"{config.server_name()}_add"
    assert tools["getUserInfo"].name == f"{config.server_name()}_get_user_info"
    assert tools["add"].description == "Add two integers."
    assert tools["add"].parameters()["required"] == ["a", "b"]
    state = ToolRunState()
    assert (await tools["add"].ainvoke('{"a": 2, "b": 3}', state=state)).text == "SUM=5"
    assert (await tools["getUserInfo"].ainvoke({"user": "ann"}, state=state)).text == "USER ann"
    assert (await tools["getenv"].ainvoke({"name": "MCP_TEST_TAG"})).text == config.env[
        "MCP_TEST_TAG"
    ]
    assert (await tools["getenv"].ainvoke({"name": "PATH"})).text != "<unset>"  # SDK defaults
    assert state.used_tools == 2
    assert state.tools_errors == 0


async def test_server_errors_and_bad_arguments_are_observations() -> None:
    tools = await tools_of([stdio()])
    state = ToolRunState()
    failed = await tools["fail"].ainvoke({"reason": "testing"}, state=state)
    assert failed.error
    assert failed.error_kind == "raised"
    assert "MCPToolError" in failed.text
    assert "FAILED because testing" in failed.text
    bad = await tools["add"].ainvoke({"a": "two"}, state=state)
    assert bad.error
    assert bad.error_kind == "arguments"
    assert "'b' is a required property" in bad.text
    assert state.tools_errors == 2
    assert (await tools["add"].ainvoke({"a": 1, "b": 1})).text == "SUM=2"  # still connected


async def test_a_resolved_server_costs_no_io() -> None:
    config = stdio()
    first = await mcp_tools([config])
    server = server_for(config)
    assert server.sessions_opened == 1
    await close_sessions()
    started = time.perf_counter()
    again = await mcp_tools([config])
    elapsed = time.perf_counter() - started
    assert [id(t) for t in again] == [id(t) for t in first]
    assert server.sessions_opened == 1  # nothing was opened to resolve them again
    assert elapsed < 0.01
    assert (await again[0].ainvoke({"a": 1, "b": 2})).text == "SUM=3"  # reopens on use
    assert server.sessions_opened == 2


async def test_200_concurrent_runs_share_one_session() -> None:
    config = stdio()

    async def one_run() -> str:
        tools = await tools_of([config])
        return (await tools["pid"].ainvoke({})).text

    answers = await asyncio.gather(*(one_run() for _ in range(200)))
    assert len(set(answers)) == 1
    assert json.loads(answers[0])["sessions"] == 1
    assert server_for(config).sessions_opened == 1


async def test_call_timeout() -> None:
    tools = await tools_of([stdio(call_timeout=0.5)])
    before = await server_pid(tools["pid"])
    started = time.monotonic()
    result = await tools["slow"].ainvoke({"seconds": 30})
    assert time.monotonic() - started < 3
    assert result.error
    assert "MCPTimeoutError" in result.text
    assert "0.5 s" in result.text
    assert await server_pid(tools["pid"]) == before  # a slow call does not end the session


async def test_a_killed_server_fails_the_call_in_flight_then_reconnects(tmp_path: Path) -> None:
    config = stdio(env={"MCP_TEST_MARK_DIR": str(tmp_path)})
    tools = await tools_of([config])
    first = await server_pid(tools["pid"])
    in_flight = asyncio.ensure_future(tools["slow"].ainvoke({"seconds": 60}))
    await asyncio.to_thread(wait_for, (tmp_path / f"slow-{first}").exists, what="the call")
    os.kill(first, signal.SIGKILL)
    started = time.monotonic()
    result = await in_flight
    assert time.monotonic() - started < 5
    assert result.error
    assert "MCPConnectionError" in result.text
    assert "lost" in result.text
    answers = await asyncio.gather(*(tools["pid"].ainvoke({}) for _ in range(50)))
    assert not any(answer.error for answer in answers)
    pids = {json.loads(answer.text)["pid"] for answer in answers}
    assert len(pids) == 1
    assert first not in pids
    assert server_for(config).sessions_opened == 2
    assert server_for(config).tools is not None


async def test_filters_static_and_dynamic_per_agent() -> None:
    def no_danger_for_reviewers(context: ToolFilterContext, tool: dict[str, Any]) -> bool:
        return not (context.agent.role == "Reviewer" and tool["name"].startswith("danger_"))

    dynamic = stdio(tool_filter=no_danger_for_reviewers)
    reviewer, admin = SimpleNamespace(role="Reviewer"), SimpleNamespace(role="Admin")
    for_reviewer = await tools_of([dynamic], reviewer)
    for_admin = await tools_of([dynamic], admin)
    assert "danger_delete" in for_admin
    assert "danger_delete" not in for_reviewer
    assert for_admin["add"] is for_reviewer["add"]  # one tool object, one session
    assert server_for(dynamic).sessions_opened == 1

    allow = create_static_tool_filter(allowed_tool_names=["add", "get_user_info"])
    static = stdio(tool_filter=allow)
    assert sorted(await tools_of([static], reviewer)) == ["add", "getUserInfo"]


async def test_connection_failures_are_clear() -> None:
    with pytest.raises(MCPConnectionError, match="command not found: 'no-such-mcp-server'"):
        await mcp_tools([MCPServerStdio(command="no-such-mcp-server", env={"SECRET": "s3cr3t"})])
    exits = MCPServerStdio(command=sys.executable, args=["-c", "pass"])
    with pytest.raises(MCPConnectionError, match="cannot connect to MCP server"):
        await mcp_tools([exits])
    silent = MCPServerStdio(
        command=sys.executable, args=["-c", "import time; time.sleep(60)"], connect_timeout=0.5
    )
    started = time.monotonic()
    with pytest.raises(MCPTimeoutError, match=r"connect_timeout=0\.5"):
        await mcp_tools([silent])
    assert time.monotonic() - started < 5


async def test_sync_run_of_an_mcp_tool_from_a_thread() -> None:
    tools = await tools_of([stdio()])
    assert await asyncio.to_thread(tools["add"].run, a=4, b=5) == "SUM=9"


def test_a_stdio_server_dies_with_its_owner_on_kill_9() -> None:
    here = str(Path(__file__).parent)
    code = (
        f"import asyncio, sys; sys.path.insert(0, {here!r})\n"
        "from mcp_helpers import server_pid, stdio, tools_of\n"
        "async def main():\n"
        "    tools = await tools_of([stdio()])\n"
        "    print(await server_pid(tools['pid']), flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        pid = int(owner.stdout.readline())
        assert parent_of(pid) == owner.pid  # the launcher exec'd the server in place
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        wait_for(lambda: not alive(pid), timeout=10, what="the server to die")
    finally:
        owner.kill()
        owner.wait(10)


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def test_closing_the_runtime_closes_the_sessions() -> None:
    here = str(Path(__file__).parent)
    code = (
        f"import asyncio, sys; sys.path.insert(0, {here!r})\n"
        "from mcp_helpers import alive, server_pid, stdio, tools_of\n"
        "from fastcrew.process_runtime import get_runtime\n"
        "async def main():\n"
        "    return await server_pid((await tools_of([stdio()]))['pid'])\n"
        "pid = asyncio.run(main())\n"
        "assert alive(pid)\n"
        "get_runtime().close()\n"
        "print(alive(pid))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
