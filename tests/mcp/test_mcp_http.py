"""MCP tools over streamable HTTP and SSE, the server on 127.0.0.1 in a subprocess."""

from __future__ import annotations

import asyncio
import json

import pytest
from mcp_helpers import free_port, http_server, tools_of

from fastcrew.mcp import MCPConnectionError, MCPServerHTTP, MCPServerSSE, mcp_tools
from fastcrew.mcp.session import server_for


async def test_a_url_string_gives_every_tool(http_url: str) -> None:
    tools = await tools_of([http_url])
    port = http_url.split(":")[2].split("/")[0]
    assert tools["add"].name == f"mcp_127_0_0_1:{port}_mcp_add"
    assert (await tools["add"].ainvoke({"a": 20, "b": 22})).text == "SUM=42"
    failed = await tools["fail"].ainvoke({"reason": "http"})
    assert failed.error
    assert "FAILED because http" in failed.text


async def test_a_fragment_picks_one_tool(http_url: str) -> None:
    assert list(await tools_of([f"{http_url}#getUserInfo"])) == ["getUserInfo"]
    assert list(await tools_of([f"{http_url}#echo", f"{http_url}#add"])) == ["echo", "add"]
    assert await mcp_tools([f"{http_url}#no_such_tool"]) == []


async def test_concurrent_calls_share_one_http_session(http_url: str) -> None:
    config = MCPServerHTTP(url=http_url, headers={"X-Test": "first"})
    tools = await tools_of([config])
    before = (await tools["pid"].ainvoke({})).text  # counts this session's initialize
    answers = await asyncio.gather(*(tools["pid"].ainvoke({}) for _ in range(200)))
    assert {answer.text for answer in answers} == {before}  # no other session started
    assert server_for(config).sessions_opened == 1
    assert (await tools["header"].ainvoke({"name": "x-test"})).text == "first"


async def test_sse_transport(sse_url: str) -> None:
    tools = await tools_of([MCPServerSSE(url=sse_url, headers={"X-Test": "sse"})])
    assert (await tools["echo"].ainvoke({"text": "over sse"})).text == "ECHO:over sse"
    assert (await tools["header"].ainvoke({"name": "x-test"})).text == "sse"


async def test_a_server_gone_then_back_reconnects() -> None:
    port = free_port()
    with http_server("http", port) as (url, _, process):
        tools = await tools_of([url])
        first = json.loads((await tools["pid"].ainvoke({})).text)["pid"]
        assert first == process.pid
    lost = await tools["pid"].ainvoke({})  # the server is gone
    assert lost.error
    assert "MCPConnectionError" in lost.text
    with http_server("http", port) as (_, _, process):
        back = await tools["pid"].ainvoke({})
        assert not back.error, back.text
        assert json.loads(back.text)["pid"] == process.pid != first


async def test_an_unreachable_server_is_a_connection_error_without_secrets() -> None:
    url = f"http://user:pw-secret@127.0.0.1:{free_port()}/mcp?token=query-secret"
    config = MCPServerHTTP(url=url, headers={"Authorization": "Bearer header-secret"})
    with pytest.raises(MCPConnectionError) as info:
        await mcp_tools([config])
    message = str(info.value)
    assert "cannot connect to MCP server http://***@127.0.0.1" in message
    assert "secret" not in message
