"""Token estimate, request validation and deterministic answers (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from fastcrew._json import dumps
from fastcrew.sim.answers import AnswerMaker, estimate_tokens, prompt_tokens
from fastcrew.sim.request import BadRequest, ChatRequest, ToolSpec, parse_chat_request


def request(**body: Any) -> ChatRequest:
    body.setdefault("messages", [{"role": "user", "content": "hello"}])
    return parse_chat_request(dumps(body))


@pytest.mark.parametrize(("text", "tokens"), [("", 0), ("a", 1), ("abcd", 1), ("abcde", 2)])
def test_token_estimate(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_prompt_tokens_count_every_message_and_text_parts() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "x" * 8},  # 2 tokens
        {
            "role": "user",
            "content": [{"type": "text", "text": "abc"}, {"type": "text", "text": "d"}],
        },
        {"role": "assistant", "content": None, "tool_calls": []},
    ]
    # "abc d" is 5 chars = 2 tokens; the null content counts 0
    assert prompt_tokens(messages) == 3 + (4 + 2) + (4 + 2) + (4 + 0)


def test_tool_definitions_and_earlier_tool_calls_count_in_the_prompt() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "look", "arguments": '{"q":1}'}}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "abcd"},  # 1 token
        {"role": "assistant", "content": None, "tool_calls": [call, call]},
        {"role": "tool", "tool_call_id": "c1", "content": "x" * 8},  # 2 tokens
    ]
    calls = len("look" + '{"q":1}') * 2  # 22 chars = 6 tokens
    assert prompt_tokens(messages) == 3 + (4 + 1) + (4 + 0 + (calls + 3) // 4) + (4 + 2)
    tool = ToolSpec("look", "Looks it up.", {"type": "object", "properties": {}})
    schema = '{"properties":{},"type":"object"}'
    with_tool = prompt_tokens(messages, (tool,))
    assert with_tool - prompt_tokens(messages) == (len("look" + "Looks it up." + schema) + 3) // 4


def test_plain_answer_echoes_the_last_user_message_and_has_the_configured_length() -> None:
    maker = AnswerMaker(seed=0, completion_tokens=32, echo_chars=200)
    chat = request(
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "  second \n\t question  "},
        ]
    )
    answer = maker.answer(chat)
    assert answer.content is not None
    assert answer.content.startswith(
        f"Simulated answer {maker.digest(chat)[:8]} to: second question "
    )
    assert answer.completion_tokens == estimate_tokens(answer.content) == 32
    assert answer.finish_reason == "stop"
    assert answer.id.startswith("chatcmpl-")


def test_echo_is_cut_after_collapsing_whitespace() -> None:
    maker = AnswerMaker(seed=0, completion_tokens=1, echo_chars=10)
    chat = request(messages=[{"role": "user", "content": "a" + " " * 500 + "b c d e f g h i j k"}])
    assert maker.echo(chat) == "a b c d e "[:10]
    assert AnswerMaker(0, 1, 0).echo(chat) == ""


def test_max_tokens_truncates_with_finish_reason_length() -> None:
    maker = AnswerMaker(seed=0, completion_tokens=32, echo_chars=200)
    answer = maker.answer(request(max_tokens=3))
    assert answer.content == "Simulated an"
    assert (answer.completion_tokens, answer.finish_reason) == (3, "length")
    assert maker.answer(request(max_completion_tokens=3, max_tokens=100)).finish_reason == "length"
    assert maker.answer(request(max_tokens=1000)).finish_reason == "stop"


def test_answers_are_a_pure_function_of_seed_and_request() -> None:
    a, b, other = AnswerMaker(1, 32, 200), AnswerMaker(1, 32, 200), AnswerMaker(2, 32, 200)
    chat = request(model="m", temperature=0.5)
    assert a.answer(chat) == a.answer(chat) == b.answer(chat)
    assert a.answer(chat) != other.answer(chat)
    # key order and irrelevant fields do not matter; model, messages and max_tokens do
    same = parse_chat_request(
        b'{"temperature": 1, "model": "m", "messages": [{"content": "hello", "role": "user"}]}'
    )
    assert a.answer(same) == a.answer(chat)
    for changed in (
        request(model="n"),
        request(max_tokens=500),
        request(messages=[{"role": "user", "content": "hellO"}]),
    ):
        assert a.answer(changed).content != a.answer(chat).content


def test_json_object_answer_is_an_object_with_the_echo() -> None:
    from fastcrew._json import loads

    answer = AnswerMaker(0, 32, 200).answer(request(response_format={"type": "json_object"}))
    assert answer.content is not None
    data = loads(answer.content)
    assert isinstance(data, dict)
    assert "hello" in data["answer"]


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({}, "messages", "non-empty list"),
        ({"messages": []}, "messages", "non-empty list"),
        ({"messages": "hi"}, "messages", "non-empty list"),
        ({"messages": ["hi"]}, "messages[0]", "must be an object"),
        ({"messages": [{"content": "x"}]}, "messages[0].role", "must be one of"),
        ({"messages": [{"role": "user", "content": None}]}, "messages[0].content", "null only"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
            "messages[0].content",
            ".text",
        ),
        ({"max_tokens": 0}, "max_tokens", "positive integer"),
        ({"max_tokens": "5"}, "max_tokens", "positive integer"),
        ({"max_tokens": True}, "max_tokens", "positive integer"),
        ({"max_completion_tokens": -1}, "max_completion_tokens", "positive integer"),
        ({"temperature": 2.5}, "temperature", "between 0 and 2"),
        ({"temperature": "hot"}, "temperature", "between 0 and 2"),
        ({"response_format": {"type": "xml"}}, "response_format.type", "must be 'text'"),
        ({"response_format": "json"}, "response_format", "object"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
            "response_format.json_schema",
            "schema",
        ),
        ({"stream": "yes"}, "stream", "boolean"),
        ({"model": 5}, "model", "string"),
    ],
)
def test_bad_bodies_name_the_field(body: dict[str, Any], param: str, words: str) -> None:
    if "messages" not in body and param != "messages":
        body["messages"] = [{"role": "user", "content": "x"}]
    with pytest.raises(BadRequest, match=words) as info:
        parse_chat_request(dumps(body))
    assert info.value.param == param


@pytest.mark.parametrize("raw", [b"", b"{", b"[1, 2]", b"null"])
def test_body_must_be_a_json_object(raw: bytes) -> None:
    with pytest.raises(BadRequest, match="JSON"):
        parse_chat_request(raw)


def test_tool_and_assistant_messages_may_have_null_content_and_extra_fields_are_ignored() -> None:
    chat = request(
        messages=[
            {"role": "user", "content": "call a tool"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "t1"}]},
            {"role": "tool", "content": None, "tool_call_id": "t1"},
        ],
        top_p=0.3,
        seed=4,
        stream=False,
        stream_options={"include_usage": True},
    )
    assert chat.messages[1]["content"] is None
    assert not chat.stream
