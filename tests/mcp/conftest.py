"""MCP test fixtures: sessions closed after each test, an HTTP and an SSE server per module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

pytest.importorskip("mcp")

from mcp_helpers import http_server

from fastcrew.mcp import close_sessions


@pytest.fixture(autouse=True)
async def _close_sessions() -> AsyncIterator[None]:
    """No session (nor stdio server) outlives its test."""
    yield
    await close_sessions()


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    """A streamable HTTP server (``basic.py http``) for the module."""
    with http_server("http") as (url, _, _):
        yield url


@pytest.fixture(scope="module")
def sse_url() -> Iterator[str]:
    """An SSE server (``basic.py sse``) for the module."""
    with http_server("sse") as (url, _, _):
        yield url
