"""Configs, string references, filters and names: no server involved."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from fastcrew.errors import ConfigurationError
from fastcrew.mcp import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DISCOVERY_TIMEOUT,
    MCPServerHTTP,
    MCPServerSSE,
    MCPServerStdio,
    StaticToolFilter,
    ToolFilterContext,
    check_mcps,
    create_dynamic_tool_filter,
    create_static_tool_filter,
)
from fastcrew.mcp.filters import apply_filter, is_dynamic
from fastcrew.mcp.names import sanitize_tool_name, url_server_name
from fastcrew.mcp.refs import parse_ref

TOOLS = [{"name": n, "original_name": n, "description": "", "inputSchema": {}} for n in "abc"]


def test_import_does_not_load_the_sdk() -> None:
    code = (
        "import sys, fastcrew.mcp\n"
        "print(sorted(m for m in ('mcp', 'anyio', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_defaults_are_crewais_constants() -> None:
    config = MCPServerStdio(command="python")
    assert (config.args, config.env, config.tool_filter, config.cache_tools_list) == (
        [],
        None,
        None,
        False,
    )
    assert (config.connect_timeout, config.call_timeout, config.discovery_timeout) == (10, 30, 15)
    assert (DEFAULT_CONNECT_TIMEOUT, DEFAULT_CALL_TIMEOUT, DEFAULT_DISCOVERY_TIMEOUT) == (
        10,
        30,
        15,
    )
    http = MCPServerHTTP(url="https://a.example/mcp")
    assert (http.headers, http.streamable) == (None, True)
    with pytest.raises(ValueError, match="greater than 0"):
        MCPServerSSE(url="https://a.example/sse", call_timeout=0)


def test_secrets_are_masked_in_reprs_and_messages() -> None:
    http = MCPServerHTTP(
        url="https://user:hunter22@api.example.com/mcp?token=QUERYSECRET",
        headers={"Authorization": "Bearer HEADERSECRET"},
    )
    stdio = MCPServerStdio(command="npx", args=["server"], env={"API_KEY": "ENVSECRET"})
    shown = f"{http!r} {http} {stdio!r} {stdio} {http.display()} {stdio.display()}"
    for secret in ("hunter22", "QUERYSECRET", "HEADERSECRET", "ENVSECRET", "user:"):
        assert secret not in shown
    assert "api.example.com/mcp" in shown
    assert "API_KEY" in shown
    text = "failed: Bearer HEADERSECRET at ...?token=QUERYSECRET, key ENVSECRET"
    assert "SECRET" not in http.redact(text).replace("ENVSECRET", "")
    assert "ENVSECRET" not in stdio.redact(text)


def test_server_names_are_crewais() -> None:
    assert url_server_name("https://api.example.com/v1/mcp") == "api_example_com_v1_mcp"
    assert url_server_name("https://u:p@api.example.com") == "api_example_com"
    assert url_server_name("http://127.0.0.1:8000/mcp") == "mcp_127_0_0_1:8000_mcp"
    assert MCPServerStdio(command="npx", args=["-y", "@x/fs"]).server_name() == "npx_-y_@x/fs"
    assert MCPServerStdio(command="./run").server_name() == "./run_"
    assert MCPServerStdio(command="7z").server_name() == "mcp_7z_"
    assert sanitize_tool_name("getUserInfo") == "get_user_info"
    assert sanitize_tool_name("HTTPServer Info!") == "http_server_info"
    long = sanitize_tool_name("x" * 100)
    assert len(long) == 64
    assert long != sanitize_tool_name("x" * 99)


def test_string_references() -> None:
    config, pick = parse_ref("https://mcp.example.com/api#getUser")
    assert isinstance(config, MCPServerHTTP)
    assert (config.url, pick) == ("https://mcp.example.com/api", "get_user")
    assert parse_ref("http://127.0.0.1:9/mcp") == (
        MCPServerHTTP(url="http://127.0.0.1:9/mcp"),
        None,
    )
    assert parse_ref("https://a.example/x")[0] is parse_ref("https://a.example/x")[0]
    for amp in ("notion", "notion#search", "crewai-amp:notion"):
        with pytest.raises(ConfigurationError, match="AMP references") as info:
            parse_ref(amp)
        assert "MCPServerHTTP" in str(info.value)
    with pytest.raises(ConfigurationError, match="host"):
        parse_ref("https:///mcp")


def test_check_mcps() -> None:
    stdio = MCPServerStdio(command="python")
    assert check_mcps(None) == []
    assert check_mcps(["https://a.example/mcp#x", stdio]) == ["https://a.example/mcp#x", stdio]
    assert check_mcps(()) == []
    for bad, named in (
        ("https://a.example/mcp", "builtins.str"),
        ([42], "builtins.int"),
        ([{"url": "https://a"}], "builtins.dict"),
        (["ftp://a.example"], "not supported"),
    ):
        with pytest.raises(ConfigurationError, match=named) as info:
            check_mcps(bad)
        assert "MCPServerStdio" in str(info.value)


def test_static_filter() -> None:
    allow = create_static_tool_filter(allowed_tool_names=["a", "b"], blocked_tool_names=["b"])
    assert isinstance(allow, StaticToolFilter)
    assert [t["name"] for t in TOOLS if allow(t)] == ["a"]
    block = create_static_tool_filter(blocked_tool_names=["c"])
    assert [t["name"] for t in TOOLS if block(t)] == ["a", "b"]
    assert is_dynamic(allow) is False


def dynamic(context: ToolFilterContext, tool: dict[str, Any]) -> bool:
    return tool["name"] != context.agent


async def test_filters_told_apart_by_signature() -> None:
    assert create_dynamic_tool_filter(dynamic) is dynamic
    assert is_dynamic(dynamic) is True
    assert is_dynamic(lambda tool: True) is False
    assert is_dynamic(lambda *args: True) is True

    def context() -> ToolFilterContext:
        return ToolFilterContext(agent="b", server_name="s")

    assert [t["name"] for t in await apply_filter(dynamic, TOOLS, context)] == ["a", "c"]
    static = await apply_filter(lambda tool: tool["name"] == "c", TOOLS, context)
    assert [t["name"] for t in static] == ["c"]

    async def later(context: ToolFilterContext, tool: dict[str, Any]) -> bool:
        return tool["name"] == "a"

    assert [t["name"] for t in await apply_filter(later, TOOLS, context)] == ["a"]
    assert await apply_filter(None, TOOLS, context) is TOOLS


def test_result_text_as_crewai_writes_it() -> None:
    from mcp import types

    from fastcrew.mcp._sdk import result_text

    blocks: list[Any] = [
        types.TextContent(type="text", text="first"),
        types.ImageContent(type="image", data="AAAA", mimeType="image/png"),
        types.EmbeddedResource(
            type="resource",
            resource=types.TextResourceContents(uri="file:///a.txt", text="embedded"),
        ),
        types.EmbeddedResource(
            type="resource",
            resource=types.BlobResourceContents(uri="file:///b.bin", blob="AAAA"),
        ),
    ]
    text, is_error = result_text(types.CallToolResult(content=blocks))
    assert text == "first\n[image: image/png]\nembedded\n[resource: file:///b.bin]"
    assert not is_error
    structured = types.CallToolResult(content=[], structuredContent={"n": 1}, isError=True)
    assert result_text(structured) == ('{"n":1}', True)
