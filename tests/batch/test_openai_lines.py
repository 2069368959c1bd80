"""OpenAI Batch-API lines: each row holds the provider's answer exactly as it came.

A recording proxy sits between ``fastcrew batch`` and the simulator: it forwards every
request and keeps the status, ``x-request-id`` and body bytes the simulator sent, so the rows
are compared with what went over the wire, read independently of fastcrew's client.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from loopback import start_app

from fastcrew.sim import Simulator

URL = "/v1/chat/completions"


@dataclass
class Exchange:
    status: int
    request_id: str | None
    body: bytes


@dataclass
class Proxy:
    """Forwards ``POST /v1/chat/completions`` to the simulator; a request whose prompt says
    ``stall`` is held until the test ends (no answer ever comes), one that says ``pretty`` gets
    its answer pretty-printed (newlines between tokens)."""

    target: str
    seen: dict[str, Exchange] = field(default_factory=dict)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        data = await request.read()
        prompt = json.loads(data)["messages"][-1]["content"]
        if "stall" in prompt:
            await self.release.wait()
        headers = {"Authorization": request.headers.get("Authorization", "")}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.target + "/chat/completions", data=data, headers=headers) as resp,
        ):
            body = await resp.read()
            if "pretty" in prompt:  # a provider that pretty-prints its JSON
                body = json.dumps(json.loads(body), indent=2).encode()
            request_id = resp.headers.get("x-request-id")
            self.seen[prompt] = Exchange(resp.status, request_id, body)
            out = {"content-type": resp.headers.get("content-type", "application/json")}
            if request_id is not None:
                out["x-request-id"] = request_id
            return web.Response(status=resp.status, body=body, headers=out)


@pytest.fixture
async def proxy(sim: Simulator) -> AsyncIterator[Proxy]:
    recorder = Proxy(sim.base_url)
    app = web.Application()
    app.router.add_post(URL, recorder.handle)
    runner, origin = await start_app(app)
    recorder.base_url = f"{origin}/v1"
    try:
        yield recorder
    finally:
        recorder.release.set()
        await runner.cleanup()


def _line(custom_id: str, prompt: str, **body: object) -> bytes:
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}], **body}
    line = {"custom_id": custom_id, "method": "POST", "url": URL, "body": request}
    return json.dumps(line).encode()


async def _batch(inputs: Path, out: Path, base_url: str, *extra: str) -> int:
    cmd = [sys.executable, "-m", "fastcrew", "batch", str(inputs), "-o", str(out)]
    cmd += ["--workers", "1", "--base-url", base_url, "--api-key", "sk-test", "--no-progress"]
    process = await asyncio.create_subprocess_exec(
        *cmd, *extra, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None, err.decode()
    return process.returncode


_ROW = re.compile(
    rb'\{"id":"batch_req_(\d+)","custom_id":("[^"]*"),'
    rb'"response":\{"status_code":(\d+),"request_id":("[^"]*"|null),"body":(.*)\},"error":null\}'
)
_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a word up.",
            "parameters": {
                "type": "object",
                "properties": {"word": {"type": "string"}},
                "required": ["word"],
            },
        },
    }
]


async def test_rows_carry_the_providers_bodies_byte_for_byte(tmp_path: Path, proxy: Proxy):
    lines = [
        _line("plain", "plain question", temperature=0.7, max_tokens=60),
        _line("three", "three choices", n=3),
        _line("tool", "use the tool", tools=_TOOLS, tool_choice="required"),
        _line("bad", "bad temperature", temperature=5),
        _line("pretty", "pretty please"),
    ]
    inputs = tmp_path / "batch.jsonl"
    inputs.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    assert await _batch(inputs, out, proxy.base_url) == 3  # the 400 is an error row
    rows = out.read_bytes().splitlines()
    sent = [proxy.seen[p] for p in ("plain question", "three choices", "use the tool")]
    sent += [proxy.seen["bad temperature"], proxy.seen["pretty please"]]
    for i, (row, exchange) in enumerate(zip(rows, sent, strict=True)):
        match = _ROW.fullmatch(row)
        assert match is not None, row
        assert int(match[1]) == i
        assert match[3] == str(exchange.status).encode()
        assert exchange.request_id is not None
        assert exchange.request_id.startswith("req_")
        assert json.loads(match[4]) == exchange.request_id
        # spliced as sent (key order, nulls, floats), only newlines dropped: one line
        assert match[5] == exchange.body.replace(b"\n", b"")
    plain = json.loads(rows[0])["response"]["body"]
    assert plain["system_fingerprint"]
    assert plain["choices"][0]["logprobs"] is None
    assert "refusal" in plain["choices"][0]["message"]
    assert "prompt_tokens_details" in plain["usage"]
    three = json.loads(rows[1])["response"]["body"]
    assert [c["index"] for c in three["choices"]] == [0, 1, 2]
    tool = json.loads(rows[2])["response"]["body"]["choices"][0]
    assert tool["message"]["content"] is None
    assert tool["message"]["tool_calls"][0]["function"]["name"] == "lookup"
    bad = json.loads(rows[3])
    assert bad["response"]["status_code"] == 400
    error = bad["response"]["body"]["error"]
    assert error["param"] == "temperature"
    assert "LLM provider answered" not in error["message"]  # the provider's words, not ours
    assert set(error) >= {"message", "type", "param", "code"}
    assert b'"choices": [' in rows[4]  # the provider's own spacing stays


async def test_a_request_without_an_answer_keeps_fastcrews_error(tmp_path: Path, proxy: Proxy):
    inputs = tmp_path / "batch.jsonl"
    inputs.write_bytes(_line("ok", "fine") + b"\n" + _line("late", "stall here") + b"\n")
    out = tmp_path / "out.jsonl"
    assert await _batch(inputs, out, proxy.base_url, "--timeout", "1") == 3
    ok, late = (json.loads(row) for row in out.read_bytes().splitlines())
    assert ok["response"]["status_code"] == 200
    assert late["custom_id"] == "late"
    assert late["response"] is None
    assert late["error"]["code"] == "RowTimeout"
    assert late["error"]["message"]
