"""CrewAI compatibility: ``LLM``, as CrewAI's own tests pin it down (CrewAI 1.15.30; written
for fastcrew, not copied). Every call goes to the simulator; CrewAI's VCR cassettes recorded
real providers, so assertions on a recorded answer ("Paris") become assertions on what the
simulator provably answered (it echoes the last user message).

Covered from ``tests/test_llm.py`` (29 of its 67 test cases, parametrized ones counted per
case; all passing):

- ``test_llm_call_with_string_input``, ``test_llm_call_with_message_list``,
  ``test_gpt_4_1`` (3 cases), ``test_o3_mini_reasoning_effort_{high,low,medium}``,
  ``test_gemini_models`` (4), ``test_gemma3`` (1): ``call()`` returns the text, a ``str``.
- ``test_llm_call_with_tool_and_string_input``, ``test_llm_call_with_tool_and_message_list``:
  with ``tools`` and ``available_functions`` the function runs and its result is returned.
- ``test_llm_passes_additional_params``: unknown keyword arguments go into the request.
- ``test_llm_call_with_string_input_and_callbacks``, ``test_llm_callback_replacement``: the
  usage their LiteLLM token callbacks count, per LLM object, is
  ``get_token_usage_summary()`` here (``callbacks=`` is accepted and unused).
- ``test_handle_streaming_tool_calls`` (+ ``_with_error``, ``_no_available_functions``,
  ``_no_tools``): ``LLM(stream=True)`` with tools; the event counts they also assert are left
  out (fastcrew has no event bus).
- ``test_usage_info_{non_streaming,streaming}_with_call``,
  ``test_usage_info_non_streaming_with_acall`` (+ ``_and_stop``),
  ``test_usage_info_streaming_with_acall``: usage per LLM object after ``call`` / ``acall``,
  streamed or not (CrewAI reads its private ``_token_usage`` dict; fastcrew's public
  ``get_token_usage_summary()`` holds the same counts).
- ``test_non_streaming_returns_tool_calls_when_text_also_present`` (sync and async): tool
  calls without ``available_functions`` come back as the calls (``result[0].function.name``).

Deliberately different (tested as fastcrew behaves, the test says why): a function's result
is returned as text (``"25"``) — what CrewAI 1.15.30's native OpenAI path returns; the
LiteLLM path of ``test_llm_call_with_tool_and_message_list`` returns the int.

Left out (38): LiteLLM internals — ``test_get_custom_llm_provider_*`` (3),
``test_validate_call_params_*`` (3), ``test_litellm_gpt5_*`` and
``test_litellm_non_gpt5_sends_stop_in_params`` (3; fastcrew's stop-word rule is tested in
``test_llm_openai.py``),
``test_litellm_retry_catches_*`` (2), ``test_ollama_*dummy*`` / ``_does_not_modify`` (2),
``test_context_window_exceeded_error_handling``; SDK routing, which fastcrew does not have
(one OpenAI-compatible client): ``test_native_provider_*`` (2),
``test_prefixed_models_*`` (4), ``test_unprefixed_models_use_native_sdk``,
``test_explicit_provider_kwarg_takes_priority``, ``test_validate_model_in_constants``,
``test_litellm_path_preserves_provider_from_model_prefix`` (7),
``test_litellm_keeps_provider_but_formats_multimodal_as_openai_schema``; Anthropic's own
client (``test_anthropic_*``, 3); a real service (``test_deepseek_r1_with_open_router``);
CrewAI's model table (``test_context_window_validation``: fastcrew's ``LLM`` keeps no
context-window table); two tests CrewAI itself skips (``test_llm_call_when_stop_is_unsupported``
and ``..._when_additional_drop_params_is_provided``).

From ``tests/llms/openai/test_openai.py``, the generic LLM surface (not the ``openai`` SDK's
internals) is in ``test_llm_openai.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from fastcrew import LLM, ChatResponse
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.sim import SpawnedSim, spawn

NO_RETRY = RetryPolicy(max_attempts=1)
UNLIMITED = RateLimit(rpm=None, tpm=None)

SQUARE = {
    "type": "function",
    "function": {
        "name": "square_number",
        "description": "Returns the square of a number.",
        "parameters": {
            "type": "object",
            "properties": {"number": {"type": "integer", "description": "The number"}},
            "required": ["number"],
        },
    },
}
YEAR = {
    "type": "function",
    "function": {
        "name": "get_current_year",
        "description": "Returns the current year as a string.",
        "parameters": {"type": "object", "properties": {}, "required": []},
    },
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "The city"}},
            "required": ["location"],
        },
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[SpawnedSim]:
    """A simulator in a child process, for the sync ``call()`` (which refuses a running loop)."""
    with spawn() as sim:
        yield sim


def llm_on(base_url: str, model: str = "gpt-4o-mini", **kwargs: Any) -> LLM:
    kwargs.setdefault("retry", NO_RETRY)
    kwargs.setdefault("rate_limit", UNLIMITED)
    return LLM(model, base_url=base_url, api_key="sk-test", **kwargs)


# -- call() returns the text -------------------------------------------------------------


def test_call_with_string_input_returns_the_text(server: SpawnedSim) -> None:
    result = llm_on(server.base_url).call("Return the name of a random city in the world.")
    assert isinstance(result, str)
    assert len(result.strip()) > 0
    assert "random city" in result  # the simulator's answer to this prompt


def test_call_with_message_list(server: SpawnedSim) -> None:
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    result = llm_on(server.base_url).call(messages)
    assert isinstance(result, str)
    assert "capital of France" in result


@pytest.mark.parametrize(
    ("model", "extra"),
    [
        ("gpt-4.1", {}),
        ("gpt-4.1-mini-2025-04-14", {}),
        ("gpt-4.1-nano-2025-04-14", {}),
        ("o3-mini", {"reasoning_effort": "high"}),
        ("o3-mini", {"reasoning_effort": "low"}),
        ("o3-mini", {"reasoning_effort": "medium"}),
        ("gemini/gemini-3-pro-preview", {}),
        ("gemini/gemini-2.0-flash-thinking-exp-01-21", {}),
        ("gemini/gemini-2.0-flash-001", {}),
        ("gemini/gemini-2.0-flash-lite-001", {}),
        ("gemini/gemma-3-27b-it", {}),
    ],
)
async def test_models_answer_text_through_acall(sim, model: str, extra: dict[str, Any]) -> None:
    llm = llm_on(sim.base_url, model, **extra)
    assert llm.reasoning_effort == extra.get("reasoning_effort")
    result = await llm.acall("What is the capital of France?")
    assert isinstance(result, str)
    assert "capital of France" in result


def test_llm_call_strip_works_and_the_rich_answer_is_chat(server: SpawnedSim) -> None:
    llm = llm_on(server.base_url)
    text = llm.call("Say hello").strip()
    resp = llm.chat("Say hello")
    assert isinstance(resp, ChatResponse)
    assert text == resp.content.strip()


# -- tools and available_functions -------------------------------------------------------


async def test_call_with_tool_and_string_input_returns_the_function_result(sim) -> None:
    def get_current_year() -> str:
        return "2031"

    result = await llm_on(sim.base_url).acall(
        "What is the current year?",
        tools=[YEAR],
        available_functions={"get_current_year": get_current_year},
    )
    assert result == "2031"


def test_call_with_tool_and_message_list_returns_the_result_as_text(server: SpawnedSim) -> None:
    """CrewAI's LiteLLM path returns the int 25; its native OpenAI path (1.15.30's default
    for OpenAI models) returns ``str(result)``, as fastcrew does."""
    seen: list[int] = []

    def square_number(number: int) -> int:
        seen.append(number)
        return number * number

    result = llm_on(server.base_url).call(
        [{"role": "user", "content": "What is the square of 5?"}],
        tools=[SQUARE],
        available_functions={"square_number": square_number},
    )
    assert len(seen) == 1
    assert result == str(seen[0] * seen[0])


async def test_an_async_function_is_awaited(sim) -> None:
    async def square_number(number: int) -> int:
        return number * number

    result = await llm_on(sim.base_url).acall(
        "square", tools=[SQUARE], available_functions={"square_number": square_number}
    )
    assert result.isdigit()


async def test_tool_calls_without_available_functions_are_returned(sim) -> None:
    llm = llm_on(sim.base_url)
    result = await llm.acall("What is the weather in New York?", tools=[WEATHER])
    assert isinstance(result, list)
    assert len(result) == 1
    call = result[0]
    assert call.function.name == "get_weather"
    assert call["function"]["name"] == "get_weather"
    assert "location" in json.loads(call.function.arguments)
    assert call.id.startswith("call_")


def test_sync_call_returns_tool_calls_when_no_functions_are_given(server: SpawnedSim) -> None:
    result = llm_on(server.base_url).call("anything", tools=[WEATHER], available_functions=None)
    assert isinstance(result, list)
    assert result[0].function.name == "get_weather"


async def test_only_the_first_tool_call_runs_without_streaming(sim) -> None:
    llm = llm_on(sim.base_url)
    prompt = "weather and square"
    order = [
        c["function"]["name"] for c in (await llm.achat(prompt, tools=[WEATHER, SQUARE])).tool_calls
    ]
    assert sorted(order) == ["get_weather", "square_number"]  # two calls in this answer
    ran: list[str] = []
    functions = {
        "get_weather": lambda location: ran.append("get_weather") or "sunny",
        "square_number": lambda number: ran.append("square_number") or number * number,
    }
    await llm.acall(prompt, tools=[WEATHER, SQUARE], available_functions=functions)
    assert ran == order[:1]


async def test_a_missing_function_falls_back_to_the_text(sim) -> None:
    result = await llm_on(sim.base_url).acall(
        "square", tools=[SQUARE], available_functions={"other": lambda: "x"}
    )
    assert result == ""  # a tool-call answer has no text


# -- LLM(stream=True) --------------------------------------------------------------------


async def test_streaming_tool_call_runs_the_function(sim) -> None:
    llm = llm_on(sim.base_url, stream=True)
    assert llm.stream is True
    response = await llm.acall(
        [{"role": "user", "content": "What is the weather in New York?"}],
        tools=[WEATHER],
        available_functions={"get_weather": lambda location: f"The weather in {location} is sunny"},
    )
    assert response.startswith("The weather in ")
    assert response.endswith(" is sunny")


async def test_streaming_tool_call_with_a_failing_function_returns_the_empty_text(sim) -> None:
    def get_weather_error(location: str) -> str:
        raise RuntimeError("Error")

    response = await llm_on(sim.base_url, stream=True).acall(
        "What is the weather in New York?",
        tools=[WEATHER],
        available_functions={"get_weather": get_weather_error},
    )
    assert response == ""


async def test_streaming_tool_calls_without_available_functions(sim) -> None:
    response = await llm_on(sim.base_url, stream=True).acall(
        "What is the weather in New York?", tools=[WEATHER]
    )
    assert isinstance(response, list)
    assert len(response) == 1
    assert response[0].function.name == "get_weather"
    assert json.loads(response[0].function.arguments)["location"]


async def test_streaming_without_tools_returns_the_whole_text(sim) -> None:
    streamed = await llm_on(sim.base_url, stream=True).acall("What is the weather in New York?")
    whole = await llm_on(sim.base_url).acall("What is the weather in New York?")
    assert streamed == whole
    assert sim.stats()["requests_total"] == 2


async def test_streaming_tries_each_tool_call_in_turn(sim) -> None:
    """CrewAI's streamed path skips a call whose function is missing and runs the next."""
    llm = llm_on(sim.base_url, stream=True)
    result = await llm.acall(
        "weather and square",
        tools=[WEATHER, SQUARE],
        available_functions={"square_number": lambda number: number * number},
    )
    assert result.isdigit()


# -- extra parameters and usage ----------------------------------------------------------


async def test_additional_params_are_sent(sim) -> None:
    """Unknown keyword arguments go into every request: the simulator honours
    ``parallel_tool_calls`` and ``tool_choice`` (two calls become one, text becomes a call)."""
    two = await llm_on(sim.base_url).achat("x", tools=[WEATHER, SQUARE])
    assert two.tool_calls is not None
    assert len(two.tool_calls) == 2
    llm = llm_on(sim.base_url, parallel_tool_calls=False, tool_choice="required")
    assert llm.additional_params == {"parallel_tool_calls": False, "tool_choice": "required"}
    one = await llm.achat("x", tools=[WEATHER, SQUARE])
    assert one.tool_calls is not None
    assert len(one.tool_calls) == 1


def test_callbacks_are_accepted_and_usage_is_counted_per_llm(server: SpawnedSim) -> None:
    llm1 = llm_on(server.base_url, callbacks=[object()])
    llm2 = llm_on(server.base_url)
    llm1.call([{"role": "user", "content": "Hello, world!"}], callbacks=[object()])
    llm2.call([{"role": "user", "content": "Hello, world from another agent!"}])
    first, second = llm1.get_token_usage_summary(), llm2.get_token_usage_summary()
    assert first.successful_requests == 1
    assert second.successful_requests == 1
    assert first == llm1.get_token_usage_summary()


@pytest.mark.parametrize("stream", [False, True])
def test_usage_info_with_call(server: SpawnedSim, stream: bool) -> None:
    llm = llm_on(server.base_url, stream=stream)
    assert llm.stream is stream
    before = llm.get_token_usage_summary()
    assert (before.total_tokens, before.successful_requests) == (0, 0)
    llm.call("Tell me a joke.")
    usage = llm.get_token_usage_summary()
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.successful_requests == 1


@pytest.mark.parametrize(("stream", "stop"), [(False, None), (False, ["END"]), (True, None)])
async def test_usage_info_with_acall(sim, stream: bool, stop: list[str] | None) -> None:
    llm = llm_on(sim.base_url, stream=stream, stop=stop)
    assert llm.get_token_usage_summary().successful_requests == 0
    result = await llm.acall("Tell me a joke.")
    usage = llm.get_token_usage_summary()
    assert usage.successful_requests == 1
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens > 0
    assert usage.total_tokens > 0
    assert usage.prompt_tokens == sim.stats()["prompt_tokens"]
    assert len(result) > 0


# -- structured output -------------------------------------------------------------------


class City(BaseModel):
    name: str
    population: int


async def test_response_format_model_returns_the_validated_model(sim) -> None:
    llm = llm_on(sim.base_url, response_format=City)
    result = await llm.acall("A city, please")
    assert isinstance(result, City)


def test_sync_call_with_response_format_model(server: SpawnedSim) -> None:
    result = llm_on(server.base_url, response_format=City).call("A city, please")
    assert isinstance(result, City)


async def test_response_model_per_call(sim) -> None:
    result = await llm_on(sim.base_url).acall("A city, please", response_model=City)
    assert isinstance(result, City)
