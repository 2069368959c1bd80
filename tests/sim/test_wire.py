"""The OpenAI wire format over real loopback HTTP: completions, streams, JSON modes."""

from __future__ import annotations

import aiohttp
import pytest
from pydantic import BaseModel

from fastcrew._json import loads
from fastcrew.sim import Simulator, serve
from fastcrew.sim.answers import estimate_tokens

from .helpers import RATE_LIMIT_HEADERS, body, chat, post, sse_events


async def test_completion_wire_format(session: aiohttp.ClientSession, sim: Simulator) -> None:
    assert sim.base_url == f"http://127.0.0.1:{sim.port}/v1"
    status, headers, raw = await post(
        session, sim, body("Tell me about   topic-42", temperature=0.2)
    )
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert not any(h in headers for h in RATE_LIMIT_HEADERS)  # no limits configured
    data = loads(raw)
    assert data["id"].startswith("chatcmpl-")
    assert data["object"] == "chat.completion"
    assert isinstance(data["created"], int)
    assert data["model"] == "sim-model"
    [choice] = data["choices"]
    assert choice["index"] == 0
    assert choice["logprobs"] is None
    assert choice["finish_reason"] == "stop"
    message = choice["message"]
    assert message["role"] == "assistant"
    assert "to: Tell me about topic-42" in message["content"]
    usage = data["usage"]
    assert usage["prompt_tokens"] == 3 + 4 + estimate_tokens("Tell me about   topic-42")
    assert usage["completion_tokens"] == estimate_tokens(message["content"]) == 32
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}


async def test_conversation_content_parts_and_default_model(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function"}]},
        {"role": "tool", "content": "42", "tool_call_id": "c1"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "question"}],
        },
    ]
    status, _, raw = await post(session, sim, {"messages": messages, "n": 1, "whatever": [1]})
    assert status == 200
    data = loads(raw)
    assert data["model"] == sim.config.model_name
    assert "to: second question" in data["choices"][0]["message"]["content"]


async def test_max_tokens_cuts_the_answer(session: aiohttp.ClientSession, sim: Simulator) -> None:
    data = await chat(session, sim, text="second question", max_tokens=3)
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 3
    data = await chat(session, sim, max_completion_tokens=5)
    assert data["usage"]["completion_tokens"] == 5


async def test_stream_chunk_sequence(session: aiohttp.ClientSession, sim: Simulator) -> None:
    whole = await chat(session, sim, text="stream me please")
    payload = body("stream me please", stream=True, stream_options={"include_usage": True})
    status, headers, raw = await post(session, sim, payload)
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    events = sse_events(raw)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert {c["id"] for c in chunks} == {whole["id"]}
    first, *content, final, usage = chunks
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert all(c["choices"][0]["finish_reason"] is None for c in [first, *content])
    text = "".join(c["choices"][0]["delta"]["content"] for c in content)
    assert text == whole["choices"][0]["message"]["content"]
    assert len(content) == 32  # one estimated token per delta
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["choices"][0]["delta"] == {}
    assert all(c["usage"] is None for c in chunks[:-1])
    assert usage["choices"] == []
    assert usage["usage"] == whole["usage"]


async def test_stream_without_usage_and_cut_by_max_tokens(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    status, _, raw = await post(session, sim, body("x", stream=True, max_tokens=2))
    assert status == 200
    events = sse_events(raw)
    assert events[-1] == "[DONE]"
    assert all("usage" not in c for c in events[:-1])
    assert events[-2]["choices"][0]["finish_reason"] == "length"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in events[:-1])
    assert text == "Simulate"


async def test_paced_stream_gives_the_same_content() -> None:
    async with serve(tokens_per_s=5000) as sim, aiohttp.ClientSession() as session:
        whole = await chat(session, sim, text="paced")
        _, _, raw = await post(session, sim, body("paced", stream=True))
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in sse_events(raw)[:-1])
    assert text == whole["choices"][0]["message"]["content"]


async def test_json_object_mode(session: aiohttp.ClientSession, sim: Simulator) -> None:
    data = await chat(session, sim, text="Give JSON", response_format={"type": "json_object"})
    content = loads(data["choices"][0]["message"]["content"])
    assert isinstance(content, dict)
    assert "Give JSON" in content["answer"]


class Address(BaseModel):
    street: str
    city: str


class Person(BaseModel):
    name: str
    age: int
    tags: list[str]
    address: Address
    nickname: str | None = None


class Inventory(BaseModel):
    owner: Person
    items: dict[str, int]
    ratio: float


@pytest.mark.parametrize("model", [Person, Inventory])
async def test_json_schema_answers_validate(
    session: aiohttp.ClientSession, sim: Simulator, model: type[BaseModel]
) -> None:
    response_format = {
        "type": "json_schema",
        "json_schema": {
            "name": model.__name__,
            "schema": model.model_json_schema(),
            "strict": True,
        },
    }
    data = await chat(session, sim, text="Describe someone", response_format=response_format)
    content = data["choices"][0]["message"]["content"]
    model.model_validate_json(content)
    assert "Describe someone" in content
    assert data["usage"]["completion_tokens"] == estimate_tokens(content)


async def test_same_request_same_answer_across_servers_but_not_across_seeds() -> None:
    async with (
        serve(seed=7) as a,
        serve(seed=7) as b,
        serve(seed=8) as c,
        aiohttp.ClientSession() as session,
    ):
        first = await chat(session, a, text="deterministic?")
        again = await chat(session, a, text="deterministic?")
        other_server = await chat(session, b, text="deterministic?")
        other_seed = await chat(session, c, text="deterministic?")
        other_input = await chat(session, a, text="deterministic!")

    def content(data: dict) -> str:
        return data["choices"][0]["message"]["content"]

    assert content(first) == content(again) == content(other_server)
    assert first["id"] == other_server["id"]
    assert content(other_seed) != content(first)
    assert content(other_input) != content(first)


async def test_many_concurrent_inputs_get_distinct_answers(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    import asyncio

    results = await asyncio.gather(*(chat(session, sim, text=f"q{i}") for i in range(50)))
    contents = [r["choices"][0]["message"]["content"] for r in results]
    assert len(set(contents)) == 50
    assert all(f"to: q{i} " in c for i, c in enumerate(contents))


async def test_models_endpoint(session: aiohttp.ClientSession) -> None:
    async with serve(model_name="my-model") as sim, session.get(f"{sim.base_url}/models") as resp:
        assert resp.status == 200
        data = loads(await resp.read())
    assert data["object"] == "list"
    [model] = data["data"]
    assert model["id"] == "my-model"
    assert model["object"] == "model"
    assert model["owned_by"] == "fastcrew-sim"
    assert isinstance(model["created"], int)
