"""Azure OpenAI's deployment path on the simulator, with ``openai.AsyncAzureOpenAI``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openai
import pytest

from fastcrew._json import dumps, loads
from fastcrew.sim import Simulator, serve

KEY = "sim-not-a-real-key"
VERSION = "2024-10-21"
ASK: Any = [{"role": "user", "content": "Hello Azure"}]
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "search",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    }
]


def azure(sim: Simulator, **options: Any) -> openai.AsyncAzureOpenAI:
    """An Azure client of the simulator (``api-key`` header unless told otherwise)."""
    options = {"api_key": KEY, **options}
    endpoint = sim.base_url.removesuffix("/v1")
    return openai.AsyncAzureOpenAI(
        azure_endpoint=endpoint, api_version=VERSION, max_retries=0, **options
    )


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[openai.AsyncAzureOpenAI]:
    async with azure(sim) as c:
        yield c


async def test_chat_is_the_openai_answer_of_the_deployments_model(
    sim: Simulator, client: openai.AsyncAzureOpenAI
) -> None:
    raw = await client.chat.completions.with_raw_response.create(model="my-deploy", messages=ASK)
    answer = raw.parse()
    assert answer.model == "fastcrew-sim"  # an unmapped deployment serves the configured model
    assert "x-ratelimit-remaining-requests" not in raw.headers  # no limits configured
    extra = answer.model_extra or {}
    [prompt_filter] = extra["prompt_filter_results"]
    assert prompt_filter["content_filter_results"]["hate"] == {
        "filtered": False,
        "severity": "safe",
    }
    choice_extra = answer.choices[0].model_extra or {}
    assert choice_extra["content_filter_results"]["violence"]["filtered"] is False
    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY) as plain:
        same = await plain.chat.completions.create(model="fastcrew-sim", messages=ASK)
    assert answer.choices[0].message.content == same.choices[0].message.content
    assert sim.stats()["by_wire"] == {"openai": 1, "azure": 1, "anthropic": 0}


async def test_deployment_map_and_unknown_deployment() -> None:
    async with serve(azure_deployments="prod=gpt-4o-mini, big=gpt-4o") as sim, azure(sim) as c:
        answer = await c.chat.completions.create(model="big", messages=ASK)
        with pytest.raises(openai.NotFoundError) as caught:
            await c.chat.completions.create(model="nope", messages=ASK)
    assert answer.model == "gpt-4o"
    assert caught.value.code == "DeploymentNotFound"


async def test_stream_concatenates_to_the_answer(client: openai.AsyncAzureOpenAI) -> None:
    plain = await client.chat.completions.create(model="d", messages=ASK)
    stream = await client.chat.completions.create(model="d", messages=ASK, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == plain.choices[0].message.content


async def test_tools_round_trip(client: openai.AsyncAzureOpenAI) -> None:
    first = await client.chat.completions.create(model="d", messages=ASK, tools=TOOLS)
    assert first.choices[0].finish_reason == "tool_calls"
    [call] = first.choices[0].message.tool_calls or []
    assert call.type == "function"
    assert call.function.name == "lookup"
    messages = [
        *ASK,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "found it"},
    ]
    final = await client.chat.completions.create(model="d", messages=messages, tools=TOOLS)
    assert final.choices[0].finish_reason == "stop"
    assert "lookup: found it" in (final.choices[0].message.content or "")


async def test_content_filter_refuses_the_prompt() -> None:
    async with serve(content_filter_rate=1.0) as sim, azure(sim) as c:
        with pytest.raises(openai.BadRequestError) as caught:
            await c.chat.completions.create(model="d", messages=ASK)
        stats = sim.stats()
    error = caught.value
    assert error.status_code == 400
    assert error.code == "content_filter"
    assert error.param == "prompt"
    assert isinstance(error.body, dict)
    inner = error.body["innererror"]
    assert inner["code"] == "ResponsibleAIPolicyViolation"
    flagged = [k for k, v in inner["content_filter_result"].items() if v["filtered"]]
    assert len(flagged) == 1
    assert stats["content_filtered"] == 1
    assert stats["by_status"] == {"400": 1}


async def test_content_filter_cuts_the_answer() -> None:
    async with serve(content_filter_output_rate=1.0) as sim, azure(sim) as c:
        answer = await c.chat.completions.create(model="d", messages=ASK)
    choice = answer.choices[0]
    assert choice.finish_reason == "content_filter"
    assert len(choice.message.content or "") == 64  # half of the 128-character answer
    assert (choice.model_extra or {})["content_filter_results"]["violence"]["filtered"] is True


async def test_rate_limit_429_with_azure_headers() -> None:
    async with serve(rpm=1, tpm=10_000) as sim, azure(sim) as c:
        ok = await c.chat.completions.with_raw_response.create(model="d", messages=ASK)
        assert ok.headers["x-ratelimit-remaining-requests"] == "0"
        assert int(ok.headers["x-ratelimit-remaining-tokens"]) < 10_000
        with pytest.raises(openai.RateLimitError) as caught:
            await c.chat.completions.create(model="d", messages=ASK)
    headers = caught.value.response.headers
    assert int(headers["retry-after"]) >= 1
    assert int(headers["retry-after-ms"]) >= 1
    assert headers["x-ratelimit-remaining-requests"] == "0"


async def test_auth_api_key_or_entra_token() -> None:
    async with serve(api_key=KEY) as sim:
        async with azure(sim, api_key=None, azure_ad_token=KEY) as entra:
            answer = await entra.chat.completions.create(model="d", messages=ASK)
        async with azure(sim, api_key="wrong") as bad:
            with pytest.raises(openai.AuthenticationError) as caught:
                await bad.chat.completions.create(model="d", messages=ASK)
    assert answer.choices[0].finish_reason == "stop"
    assert caught.value.status_code == 401
    assert caught.value.code == "401"


async def test_missing_api_version(sim: Simulator, session: aiohttp.ClientSession) -> None:
    url = sim.base_url.removesuffix("/v1") + "/openai/deployments/d/chat/completions"
    async with session.post(url, data=dumps({"messages": ASK})) as resp:
        assert resp.status == 400
        assert loads(await resp.read()) == {
            "error": {
                "code": "BadRequest",
                "message": "Missing required query parameter: api-version",
            }
        }


async def test_overloaded_fault_is_a_503() -> None:
    async with serve(overloaded_rate=1.0) as sim, azure(sim) as c:
        with pytest.raises(openai.InternalServerError) as caught:
            await c.chat.completions.create(model="d", messages=ASK)
        stats = sim.stats()
    assert caught.value.status_code == 503
    assert stats["overloaded"] == 1
    assert stats["faults"]["fail"] == 0
