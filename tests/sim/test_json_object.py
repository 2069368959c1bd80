"""json_object answers follow the shape the prompt describes (docs/simulator.md patterns)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from pydantic import BaseModel, Field

from fastcrew._json import loads
from fastcrew.sim import Simulator

from .helpers import chat

JSON_OBJECT = {"type": "json_object"}


class Address(BaseModel):
    city: str
    zip_code: str = Field(min_length=5, max_length=5)


class UserDetail(BaseModel):
    name: str
    age: int = Field(ge=0, le=130)
    tags: list[str]
    address: Address


async def answer(session: aiohttp.ClientSession, sim: Simulator, messages: list[dict]) -> Any:
    data = await chat(session, sim, messages=messages, response_format=JSON_OBJECT)
    return loads(data["choices"][0]["message"]["content"])


def instructor_json_system(model: type[BaseModel]) -> str:
    """A system message shaped like instructor's JSON mode: the schema, indented, in prose."""
    schema = json.dumps(model.model_json_schema(), indent=2)
    return (
        "\n        Read the content and answer with the parsed object, as JSON valid\n"
        "        against this json_schema:\n\n\n"
        f"        {schema}\n\n"
        "        Answer with an instance of it, not with the schema.\n"
    )


async def test_a_schema_in_the_system_message(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    messages = [
        {"role": "system", "content": instructor_json_system(UserDetail)},
        {"role": "user", "content": 'Extract: Jason is 25. Data: {"noise": 1}'},
    ]
    value = await answer(session, sim, messages)
    user = UserDetail.model_validate(value)
    assert "Extract: Jason is 25." in user.name  # the first string carries the answer sentence


@pytest.mark.parametrize(
    "wrap",
    [
        lambda s: {
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": s, "strict": True},
        },
        lambda s: {"schema": s},
        lambda s: {"name": "UserDetail", "parameters": s},
    ],
)
async def test_wrapped_schemas_in_a_user_message(
    session: aiohttp.ClientSession, sim: Simulator, wrap: Any
) -> None:
    spec = json.dumps(wrap(UserDetail.model_json_schema()))
    text = f"Ensure your final answer strictly adheres to the following OpenAPI schema: {spec}"
    value = await answer(session, sim, [{"role": "user", "content": text}])
    UserDetail.model_validate(value)


async def test_typed_fields(session: aiohttp.ClientSession, sim: Simulator) -> None:
    text = (
        'Your final answer must be JSON:\n{\n  "title": str,\n  "score": float,\n'
        '  "count": int,\n  "ok": bool,\n  "tags": list[str],\n  "when": Optional[datetime]\n}'
    )
    value = await answer(session, sim, [{"role": "user", "content": text}])
    assert set(value) == {"title", "score", "count", "ok", "tags", "when"}
    assert isinstance(value["title"], str)
    assert isinstance(value["score"], float)
    assert isinstance(value["count"], int)
    assert isinstance(value["ok"], bool)
    assert all(isinstance(t, str) for t in value["tags"])
    datetime.fromisoformat(value["when"])


async def test_a_json_example(session: aiohttp.ClientSession, sim: Simulator) -> None:
    text = 'Answer like this example: {"city": "Paris", "population": 2100000, "rivers": ["Seine"]}'
    value = await answer(session, sim, [{"role": "user", "content": text}])
    assert set(value) == {"city", "population", "rivers"}
    assert isinstance(value["city"], str)
    assert isinstance(value["population"], int)
    assert all(isinstance(r, str) for r in value["rivers"])


@pytest.mark.parametrize(
    "text",
    [
        "Return a JSON object with the keys: title, summary and score.",
        "Respond in JSON. Fields: `title`, `summary`; `score`",
        "Give JSON with these properties:\n- title\n* `summary`: a short text\n1. score\n",
        "Respond ONLY as JSON with keys:\ntitle (a string),\nsummary: text\nscore\n\nThanks.",
    ],
)
async def test_a_list_of_keys(session: aiohttp.ClientSession, sim: Simulator, text: str) -> None:
    value = await answer(session, sim, [{"role": "system", "content": text}])
    assert list(value) == ["title", "summary", "score"]
    assert all(isinstance(v, str) for v in value.values())


async def test_pattern_order_outranks_message_order(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    messages = [
        {"role": "user", "content": 'Example: {"from_user": 1}'},
        {"role": "system", "content": "Reply with the keys: from_system"},
    ]
    value = await answer(session, sim, messages)
    assert set(value) == {"from_user"}  # a JSON example outranks a key list, wherever it is
    messages[0] = {"role": "user", "content": "plain text"}
    assert set(await answer(session, sim, messages)) == {"from_system"}


async def test_nothing_found_keeps_the_fixed_shape(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    for text in ("just answer in JSON", 'an array example ["a"] and a broken {"x": }'):
        value = await answer(session, sim, [{"role": "user", "content": text}])
        assert set(value) == {"answer", "digest"}
        assert text[:10] in value["answer"]
    # a schema the sampler cannot follow falls back too, without a 400
    broken = json.dumps({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}})
    value = await answer(session, sim, [{"role": "user", "content": broken}])
    assert set(value) == {"answer", "digest"}


async def test_a_json_code_block_asked_for_in_text_mode(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    messages = [
        {"role": "system", "content": instructor_json_system(UserDetail)},
        {"role": "user", "content": "Jason is 25"},
        {"role": "user", "content": "Put the JSON answer in a ```json code block."},
    ]
    data = await chat(session, sim, messages=messages)
    text = data["choices"][0]["message"]["content"]
    assert text.startswith("```json\n")
    assert text.endswith("\n```")
    UserDetail.model_validate_json(text.removeprefix("```json\n").removesuffix("\n```"))
    plain = await chat(session, sim, messages=messages[:2])  # not asked for: plain text
    assert plain["choices"][0]["message"]["content"].startswith("Simulated answer")


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("Answer as JSON with keys: answer, confidence. Be concise.", ["answer", "confidence"]),
        ("Reply in JSON. Keys: a, b and c.", ["a", "b", "c"]),
        ("Use the keys: a, b, and c", ["a", "b", "c"]),
        ("JSON with keys: answer, confidence! No prose.", ["answer", "confidence"]),
        ("JSON with keys: answer, confidence - be brief", ["answer", "confidence"]),
        ("JSON with keys: answer and confidence, nothing else", ["answer", "confidence"]),
        ("Fields: `name`, 'age' or \"email\"; keep it short.", ["name", "age", "email"]),
        ("keys: title (a string), summary, score (0 to 1). Thanks.", ["title", "summary", "score"]),
    ],
)
async def test_a_key_list_ends_at_the_sentence_or_the_instructions_after_it(
    session: aiohttp.ClientSession, sim: Simulator, text: str, keys: list[str]
) -> None:
    value = await answer(session, sim, [{"role": "user", "content": text}])
    assert list(value) == keys
    assert all(isinstance(v, str) for v in value.values())
