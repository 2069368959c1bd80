"""Every response carries an ``x-request-id``; unknown paths and methods answer OpenAI's JSON
errors (raw HTTP, the official ``openai`` SDK and fastcrew's own client)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import aiohttp
import openai
import pytest

from fastcrew import LLM, errors
from fastcrew._json import loads
from fastcrew.sim import Simulator, serve

from .helpers import body, post

REQUEST_ID = re.compile(r"req_[0-9a-f]{32}")
KEY = "sk-sim-http-test-key-0123456789"


def request_id(headers: Mapping[str, str]) -> str:
    value = headers.get("x-request-id")
    assert isinstance(value, str)
    assert REQUEST_ID.fullmatch(value), value
    return value


async def test_every_kind_of_response_carries_a_unique_request_id(
    session: aiohttp.ClientSession,
) -> None:
    seen: list[str] = []
    async with serve(api_key=KEY, rpm=1, limit_window_s=60) as sim:
        auth = {"Authorization": f"Bearer {KEY}"}
        status, headers, _ = await post(session, sim, body(), auth)  # 200
        assert status == 200
        seen.append(request_id(headers))
        status, headers, _ = await post(session, sim, body(), auth)  # 429: rpm spent
        assert status == 429
        seen.append(request_id(headers))
        status, headers, _ = await post(session, sim, body())  # 401
        assert status == 401
        seen.append(request_id(headers))
        status, headers, _ = await post(session, sim, b"{not json", auth)  # 400
        assert status == 400
        seen.append(request_id(headers))
        for method, path in (("GET", "/v1/models"), ("GET", "/sim/stats"), ("GET", "/nope")):
            async with session.request(method, sim.base_url.removesuffix("/v1") + path) as resp:
                seen.append(request_id(resp.headers))
    async with serve(fail_rate=1.0) as failing:
        status, headers, _ = await post(session, failing, body())  # 500
        assert status == 500
        seen.append(request_id(headers))
    assert len(set(seen)) == len(seen) == 8


async def test_a_stream_carries_a_request_id(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    status, headers, raw = await post(session, sim, body(stream=True))
    assert status == 200
    assert raw.endswith(b"data: [DONE]\n\n")
    request_id(headers)


async def test_the_openai_sdk_and_fastcrew_read_the_request_id(sim: Simulator) -> None:
    messages: list = [{"role": "user", "content": "hi"}]
    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0) as sdk:
        completion = await sdk.chat.completions.create(model="m", messages=messages)
        assert REQUEST_ID.fullmatch(completion._request_id or "")
        raw = await sdk.chat.completions.with_raw_response.create(model="m", messages=messages)
        assert REQUEST_ID.fullmatch(raw.request_id or "")
        assert raw.request_id != completion._request_id
    llm = LLM("m", base_url=sim.base_url, api_key=KEY)
    answer = await llm.achat("hi")
    assert REQUEST_ID.fullmatch(answer.request_id or "")
    stream = await llm.achat("hi", stream=True)
    async for _ in stream:
        pass
    assert REQUEST_ID.fullmatch(stream.response.request_id or "")


async def test_fastcrew_errors_carry_the_request_id() -> None:
    async with serve(api_key=KEY) as sim:
        llm = LLM("m", base_url=sim.base_url, api_key="sk-wrong-key-000000000000")
        with pytest.raises(errors.LLMError) as caught:
            await llm.achat("hi")
    assert REQUEST_ID.fullmatch(caught.value.request_id or "")


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/foo"), ("GET", "/nope"), ("GET", "/"), ("DELETE", "/v1/chat/completion")],
)
async def test_unknown_paths_answer_openais_404(
    session: aiohttp.ClientSession, sim: Simulator, method: str, path: str
) -> None:
    url = sim.base_url.removesuffix("/v1") + path
    async with session.request(method, url, data=b"{}") as resp:
        assert resp.status == 404
        assert resp.content_type == "application/json"
        assert loads(await resp.read()) == {
            "error": {
                "message": f"Invalid URL ({method} {path})",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/chat/completions", "POST"),
        ("PUT", "/v1/chat/completions", "POST"),
        ("POST", "/v1/models", "GET, HEAD"),
        ("GET", "/sim/reset", "POST"),
    ],
)
async def test_wrong_methods_answer_openais_405(
    session: aiohttp.ClientSession, sim: Simulator, method: str, path: str, allow: str
) -> None:
    url = sim.base_url.removesuffix("/v1") + path
    async with session.request(method, url) as resp:
        assert resp.status == 405
        assert resp.headers["Allow"] == allow
        error = loads(await resp.read())["error"]
    assert error == {
        "message": f"Invalid method for URL ({method} {path})",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert sim.stats()["requests_total"] == 0  # not a chat request


async def test_the_openai_sdk_raises_not_found_with_the_message(sim: Simulator) -> None:
    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0) as sdk:
        with pytest.raises(openai.NotFoundError) as caught:
            await sdk.post("/foo", cast_to=object, body={})
        assert caught.value.message == "Error code: 404 - Invalid URL (POST /v1/foo)"
        assert caught.value.type == "invalid_request_error"
        assert REQUEST_ID.fullmatch(caught.value.request_id or "")
        with pytest.raises(openai.NotFoundError, match=r"Invalid URL \(POST /v1/moderations\)"):
            await sdk.moderations.create(input="x")
