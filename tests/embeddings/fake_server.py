"""An independent fake of OpenAI's embeddings API (and Azure's deployment path), written from
OpenAI's API reference: ``POST /v1/embeddings`` with ``model``, ``input`` (a list of strings),
``encoding_format`` (``"float"`` or ``"base64"``: little-endian float32) and ``dimensions``.
It counts requests and inputs, can add ``x-ratelimit-*`` headers to every answer and can
answer scripted errors (429s) first. Not ``fastcrew.sim``: nothing of fastcrew's is used.
A conftest imports :func:`fake_fixture` to offer the fixture ``fake``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from loopback import start_app

DEFAULT_DIMS = 8


def expected_vector(model: str, text: str, dims: int = DEFAULT_DIMS) -> list[float]:
    """The fake's vector for ``text`` (float32-exact values)."""
    digest = hashlib.shake_256(f"{model}|{text}".encode()).digest(dims)
    return [float(b - 128) / 4 for b in digest]


@dataclass
class FakeEmbeddings:
    """What arrived and what to answer."""

    floats_only: bool = False
    """Answer float lists even when base64 is asked for (servers that ignore the field)."""
    headers: dict[str, str] = field(default_factory=dict)
    errors: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    delay_s: float = 0.0
    requests: int = 0
    inputs: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    auth: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def embeddings(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.paths.append(request.path_qs)
        self.auth.append(
            {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "api-key")}
        )
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.errors:
            status, body, headers = self.errors.pop(0)
            return web.json_response(body, status=status, headers=headers)
        body = await request.json()
        self.bodies.append({k: v for k, v in body.items() if k != "input"})
        texts = body["input"]
        self.inputs.append(len(texts))
        self.texts.extend(texts)
        dims = body.get("dimensions") or DEFAULT_DIMS
        as_base64 = body.get("encoding_format") == "base64" and not self.floats_only
        data = []
        for index, text in enumerate(texts):
            vector = expected_vector(body["model"], text, dims)
            packed = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
            data.append(
                {
                    "object": "embedding",
                    "index": index,
                    "embedding": packed if as_base64 else vector,
                }
            )
        data.reverse()  # the order is the indexes', not the list's
        tokens = sum(len(t) // 4 + 1 for t in texts)
        answer = {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return web.json_response(answer, headers=self.headers)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/v1/embeddings", self.embeddings)
        app.router.add_post("/openai/deployments/{deployment}/embeddings", self.embeddings)
        return app


def rate_limited(retry_after_ms: int = 50) -> tuple[int, dict[str, Any], dict[str, str]]:
    """A 429 as OpenAI sends it for a request-rate limit."""
    body = {
        "error": {
            "message": "Rate limit reached for text-embedding-3-small on requests per min (RPM)",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    headers = {"retry-after-ms": str(retry_after_ms), "x-ratelimit-remaining-requests": "0"}
    return 429, body, headers


@pytest.fixture(name="fake")
async def fake_fixture() -> AsyncIterator[FakeEmbeddings]:
    """A :class:`FakeEmbeddings` served on 127.0.0.1 for one test (``server.url``)."""
    server = FakeEmbeddings()
    runner, origin = await start_app(server.app())
    server.url = origin
    try:
        yield server
    finally:
        await runner.cleanup()
