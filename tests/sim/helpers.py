"""Small HTTP helpers for the simulator tests (raw aiohttp, no fastcrew client)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp

from fastcrew._json import dumps, loads
from fastcrew.sim import Simulator

RATE_LIMIT_HEADERS = [
    f"x-ratelimit-{what}-{kind}"
    for kind in ("requests", "tokens")
    for what in ("limit", "remaining", "reset")
]


def body(text: str = "hello", **fields: Any) -> dict[str, Any]:
    """A chat request body with one user message."""
    return {"model": "sim-model", "messages": [{"role": "user", "content": text}], **fields}


async def post(
    session: aiohttp.ClientSession,
    sim: Simulator,
    payload: dict[str, Any] | bytes,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, bytes]:
    """POST to the chat endpoint; returns (status, headers, raw body)."""
    data = payload if isinstance(payload, bytes) else dumps(payload)
    url = f"{sim.base_url}/chat/completions"
    async with session.post(url, data=data, headers=headers) as resp:
        return resp.status, resp.headers, await resp.read()


async def chat(session: aiohttp.ClientSession, sim: Simulator, **fields: Any) -> dict[str, Any]:
    """A successful non-streamed completion, parsed."""
    status, _, raw = await post(session, sim, body(**fields))
    assert status == 200, raw
    return loads(raw)


def sse_events(raw: bytes) -> list[Any]:
    """The ``data:`` payloads of an SSE body: parsed JSON, or the string ``"[DONE]"``."""
    events: list[Any] = []
    for block in raw.split(b"\n\n"):
        if not block:
            continue
        assert block.startswith(b"data: "), block
        payload = block[len(b"data: ") :]
        events.append("[DONE]" if payload == b"[DONE]" else loads(payload))
    return events


async def wait_until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds, for at most 5 s (a sync point, not a timing check)."""
    async with asyncio.timeout(5.0):
        while not condition():  # noqa: ASYNC110 - the condition is server state, not an event
            await asyncio.sleep(0.002)
