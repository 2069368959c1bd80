"""CrewAI compatibility: the generic LLM surface that CrewAI's
``tests/llms/openai/test_openai.py`` pins down (CrewAI 1.15.30; written for fastcrew, not
copied) — everything that is about ``LLM`` itself rather than the ``openai`` SDK's internals.
All calls go to the simulator.

Covered (35 of its 102 test cases, parametrized ones counted per case; all passing):
``test_openai_completion_is_used_when_openai_provider``, ``..._when_no_provider_prefix``,
``test_openai_prefixed_custom_endpoint_uses_native_sdk_for_nested_model_id``,
``test_openai_is_default_provider_without_explicit_llm_set_on_agent``,
``test_openai_completion_initialization_parameters``, ``test_openai_completion_call``,
``test_openai_completion_called_during_crew_execution``,
``test_openai_completion_call_arguments``, ``test_multiple_openai_calls_in_crew``,
``test_openai_completion_with_tools``, ``test_openai_completion_call_returns_usage_metrics``,
``test_openai_client_setup_with_extra_arguments``,
``test_extra_arguments_are_passed_to_openai_completion``, the six
``test_openai_get_client_params_*`` (where ``base_url`` comes from),
``test_openai_completions_api_tool_format`` (CrewAI's flat tool schema is accepted),
``test_openai_streaming_with_response_model``,
``test_openai_response_format_with_pydantic_model`` / ``_with_dict`` / ``_none``,
``test_openai_streaming_returns_usage_metrics``,
``test_openai_agent_kickoff_structured_output_without_tools`` / ``_with_tools``, the six
stop-word tests (``test_openai_stop_words_not_applied_to_structured_output``,
``test_openai_gpt5_models_do_not_support_stop_words``,
``test_openai_non_gpt5_models_support_stop_words``,
``test_openai_gpt5_still_applies_stop_words_client_side``,
``test_openai_stop_words_still_applied_to_regular_responses``,
``test_openai_structured_output_preserves_json_with_stop_word_patterns``) and
``test_openai_streaming_returns_tool_calls_without_available_functions`` (+ async).

Deliberately different (tested as fastcrew behaves, the test says why):

- CrewAI's tests replace ``llm.call`` with a mock to see what a crew sends; fastcrew's crews
  call the rich ``achat`` of a plain ``LLM``, so the same check uses an ``LLM`` subclass that
  overrides ``call`` — which crews then use, as in CrewAI.
- ``stop`` is also sent to the provider when the model takes it (CrewAI's native client only
  cuts the text afterwards): the provider stops early and crews, which read the rich answer,
  get the cut text too. ``call()`` still cuts client-side, so the text is the same.
- ``llm.model`` keeps the string as written (``"openai/gpt-4o"``); the name sent is
  ``llm.model_name`` (CrewAI's native classes strip the prefix into ``model``).

Left out (67): the Responses API (``test_openai_responses_api_*``,
``test_responses_api_result_*``: 47 tests, besides the four below) and CrewAI's
``custom_openai`` routing flag (``test_custom_openai_*``, ``test_direct_custom_openai_*``,
``test_explicit_custom_openai_*``, ``test_openai_prefixed_unknown_model_*``,
``test_custom_openai_config_preserves_resolved_endpoint``, 2 cases: 8) — features fastcrew
does not claim (any model string with a ``base_url`` goes to that endpoint as written); the
``openai`` SDK's internals (``test_openai_completion_module_is_imported``,
``test_native_openai_raises_error_when_initialization_fails``); a test CrewAI skips
(``test_openai_raises_error_when_model_not_supported``); provider prompt caching, which the
simulator does not model (the five ``*_cached_prompt_tokens*`` tests are VCR recordings);
reasoning-token details (``test_openai_reasoning_tokens_extraction``,
``test_openai_no_detail_fields_omitted`` and their two Responses-API twins): fastcrew's
``UsageMetrics`` has no ``reasoning_tokens`` field yet. (47 + 8 + 2 + 1 + 5 + 4 = 67.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, Field

from fastcrew import LLM, Agent, Crew, Task, tool
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.sim import SpawnedSim, spawn

NO_RETRY = RetryPolicy(max_attempts=1)
UNLIMITED = RateLimit(rpm=None, tpm=None)
CALCULATOR = {
    "type": "function",
    "function": {
        "name": "calculator",
        "description": "Calculate expression",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}},
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[SpawnedSim]:
    with spawn() as sim:
        yield sim


def llm_on(base_url: str, model: str = "gpt-4o", **kwargs: Any) -> LLM:
    kwargs.setdefault("retry", NO_RETRY)
    kwargs.setdefault("rate_limit", UNLIMITED)
    return LLM(model, base_url=base_url, api_key="sk-test", **kwargs)


def one_task_crew(llm: Any, description: str = "Find Tokyo population", **agent_kw: Any) -> Crew:
    agent = Agent(
        role="Research Assistant",
        goal="Find population info",
        backstory="You research populations.",
        llm=llm,
        **agent_kw,
    )
    task = Task(description=description, expected_output="Population number", agent=agent)
    return Crew(agents=[agent], tasks=[task])


# -- construction ------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-4o", "openai/gpt-4o"])
def test_openai_is_the_provider_of_openai_models(model: str) -> None:
    llm = LLM(model, api_key="sk-test")
    assert llm.provider == "openai"
    assert llm.model_name == "gpt-4o"
    assert llm.model == model  # as written: see the module docstring


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "gpt-4.1-mini"),  # crewai.constants.DEFAULT_LLM_MODEL in 1.15.30
        ({"OPENAI_MODEL_NAME": "gpt-4o"}, "gpt-4o"),
        ({"MODEL_NAME": "gpt-4.1", "OPENAI_MODEL_NAME": "gpt-4o"}, "gpt-4.1"),
        ({"MODEL": "o3-mini", "MODEL_NAME": "gpt-4.1"}, "o3-mini"),
    ],
)
def test_the_default_model_of_an_agent(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    """CrewAI's agent without ``llm``: $MODEL, $MODEL_NAME, $OPENAI_MODEL_NAME, then its
    default (what ``test_openai_is_default_provider_without_explicit_llm_set_on_agent``'s
    title promises)."""
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    for name in ("MODEL", "MODEL_NAME", "OPENAI_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    agent = Agent(role="r", goal="g", backstory="b")
    assert agent.llm.model == expected
    assert agent.llm.provider == "openai"
    assert LLM().model == expected


def test_a_nested_model_id_on_a_custom_endpoint() -> None:
    llm = LLM("openai/anthropic/claude-sonnet-4-6", base_url="https://gateway.example/v1")
    assert llm.provider == "openai"
    assert llm.model_name == "anthropic/claude-sonnet-4-6"
    assert llm.base_url == "https://gateway.example/v1"


def test_initialization_parameters_are_kept() -> None:
    llm = LLM("gpt-4o", temperature=0.7, max_tokens=1000, top_p=0.5, api_key="test-key")
    assert (llm.model, llm.temperature, llm.max_tokens, llm.top_p) == ("gpt-4o", 0.7, 1000, 0.5)
    assert llm.api_key == "test-key"
    assert "test-key" not in repr(llm)


def test_client_arguments_are_settings_not_body_fields() -> None:
    """``max_retries`` / ``timeout`` configure the client (CrewAI: the openai SDK's);
    ``max_retries=3`` is three retries after the first attempt."""
    llm = LLM("gpt-4o", max_retries=3, timeout=30, api_key="k")
    assert llm.retry.max_attempts == 4
    assert llm.timeout == 30
    assert llm.additional_params == {}


async def test_extra_arguments_are_passed_with_every_call(sim) -> None:
    llm = llm_on(sim.base_url, temperature=0.7, max_tokens=3, top_p=0.5)
    resp = await llm.achat("Hello, how are you?")
    assert resp.finish_reason == "length"  # max_tokens reached the provider
    assert resp.usage.completion_tokens <= 3
    assert resp.model == "gpt-4o"
    text = await llm.acall("Hello, how are you?")
    assert text == resp.content


@pytest.mark.parametrize(
    ("kwargs", "env", "expected"),
    [
        ({"api_base": "https://custom.openai.com/v1"}, {}, "https://custom.openai.com/v1"),
        (
            {"base_url": "https://priority.openai.com/v1", "api_base": "https://f.openai.com/v1"},
            {},
            "https://priority.openai.com/v1",
        ),
        ({}, {"OPENAI_BASE_URL": "https://env.openai.com/v1"}, "https://env.openai.com/v1"),
        ({}, {"OPENAI_API_BASE": "https://legacy.openai.com/v1"}, "https://legacy.openai.com/v1"),
        (
            {"api_base": "https://api-base.openai.com/v1"},
            {
                "OPENAI_BASE_URL": "https://env.openai.com/v1",
                "OPENAI_API_BASE": "https://legacy.openai.com/v1",
            },
            "https://api-base.openai.com/v1",
        ),
        ({}, {}, "https://api.openai.com/v1"),
    ],
)
def test_where_base_url_comes_from(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, str], env: dict[str, str], expected: str
) -> None:
    """base_url > api_base > $OPENAI_BASE_URL > $OPENAI_API_BASE > OpenAI's own URL."""
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert LLM("gpt-4o", **kwargs).base_url == expected


async def test_a_flat_tool_schema_is_accepted(sim) -> None:
    flat = {
        "name": "get_weather",
        "description": "Get the weather for a location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    }
    result = await llm_on(sim.base_url).acall("Weather in Paris?", tools=[flat])
    assert result[0].type == "function"
    assert result[0].function.name == "get_weather"


# -- crews call the LLM's call() ---------------------------------------------------------


class RecordingLLM(LLM):
    """An LLM whose ``call`` a user replaced: crews must go through it."""

    def __init__(self, *args: Any, answer: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answer = answer
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def call(self, messages: Any, tools: Any = None, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((messages, {"tools": tools, **kwargs}))
        return self.answer


def test_call_returns_what_the_llm_answers() -> None:
    llm = RecordingLLM("openai/gpt-4o", api_key="k", answer="Hello! I'm ready to help.")
    assert llm.call("Hello, how are you?") == "Hello! I'm ready to help."
    assert llm.calls[0][0] == "Hello, how are you?"


async def test_a_crew_calls_the_llm_call_with_the_task() -> None:
    llm = RecordingLLM("openai/gpt-4o", api_key="k", answer="Tokyo has 14 million people.")
    result = await one_task_crew(llm, "Say hello world").akickoff()
    assert llm.calls
    assert "14 million" in str(result)
    messages = llm.calls[0][0]
    assert isinstance(messages, str | list)
    assert "hello world" in str(messages).lower()


async def test_a_crew_calls_the_llm_once_per_task_at_least() -> None:
    llm = RecordingLLM("openai/gpt-4o", api_key="k", answer="Task completed.")
    agent = Agent(role="Multi", goal="Complete tasks", backstory="Capable.", llm=llm)
    tasks = [
        Task(description="First task", expected_output="First result", agent=agent),
        Task(description="Second task", expected_output="Second result", agent=agent),
    ]
    await Crew(agents=[agent], tasks=tasks).akickoff()
    assert len(llm.calls) >= 2
    assert all(messages for messages, _ in llm.calls)


async def test_a_crew_passes_the_agent_tools_to_the_llm_call() -> None:
    @tool
    def sample_tool(query: str) -> str:
        """A sample tool for testing"""
        return f"Tool result for: {query}"

    llm = RecordingLLM("openai/gpt-4o", api_key="k", answer="Task completed with tools.")
    await one_task_crew(llm, "Use the sample tool", tools=[sample_tool]).akickoff()
    tools = llm.calls[0][1]["tools"]
    assert tools
    assert tools[0]["function"]["name"] == "sample_tool"


# -- usage in crews ----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_a_crew_reports_the_usage_of_its_calls(sim, stream: bool) -> None:
    llm = llm_on(sim.base_url, "gpt-4o-mini", stream=stream)
    crew = one_task_crew(llm, "Find information about the population of Tokyo")
    result = await crew.akickoff()
    stats = sim.stats()
    usage = result.token_usage
    assert usage.successful_requests == 1
    assert usage.prompt_tokens == stats["prompt_tokens"] > 0
    assert usage.completion_tokens == stats["completion_tokens"] > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.cached_prompt_tokens == 0
    assert crew.agents[0].llm.provider == "openai"
    assert crew.agents[0].llm.model == "gpt-4o-mini"


# -- response_format and response_model --------------------------------------------------


class AnswerResponse(BaseModel):
    answer: str = Field(description="The answer to the question")
    confidence: float = Field(description="Confidence score between 0 and 1", ge=0, le=1)


def test_response_format_with_a_pydantic_model(server: SpawnedSim) -> None:
    result = llm_on(server.base_url, response_format=AnswerResponse).call(
        "What is the capital of France? Be concise."
    )
    assert isinstance(result, AnswerResponse)
    assert result.answer is not None
    assert 0 <= result.confidence <= 1


def test_response_format_with_a_dict(server: SpawnedSim) -> None:
    llm = llm_on(server.base_url, response_format={"type": "json_object"})
    result = llm.call("Return a JSON object with a 'status' field set to 'success'")
    assert isinstance(json.loads(result), dict)


def test_response_format_none_is_text(server: SpawnedSim) -> None:
    result = llm_on(server.base_url, response_format=None).call("Say hello in one word")
    assert isinstance(result, str)
    assert len(result) > 0


def test_streaming_with_response_model(server: SpawnedSim) -> None:
    llm = llm_on(server.base_url, stream=True)
    result = llm.call("Test question", response_model=AnswerResponse)
    assert isinstance(result, AnswerResponse)


class AnalysisResult(BaseModel):
    topic: str
    key_points: list[str] = Field(min_length=1)
    summary: str


class CalculationResult(BaseModel):
    operation: str
    result: int
    explanation: str


async def test_agent_kickoff_structured_output_without_tools(sim) -> None:
    agent = Agent(role="Analyst", goal="Analyse", backstory="Expert.", llm=llm_on(sim.base_url))
    result = await agent.akickoff(
        "Analyze the benefits of remote work briefly.", response_format=AnalysisResult
    )
    assert isinstance(result.pydantic, AnalysisResult)
    assert result.pydantic.topic
    assert result.pydantic.key_points
    assert result.pydantic.summary


async def test_agent_kickoff_structured_output_with_tools(sim) -> None:
    added: list[int] = []

    @tool
    def add_numbers(a: int, b: int) -> int:
        """Add two numbers together and return the sum."""
        added.append(a + b)
        return a + b

    agent = Agent(
        role="Calculator",
        goal="Calculate",
        backstory="Uses tools.",
        llm=llm_on(sim.base_url),
        tools=[add_numbers],
    )
    result = await agent.akickoff(
        "Calculate 15 + 27 using your add_numbers tool.", response_format=CalculationResult
    )
    assert added  # the tool ran before the structured answer
    assert isinstance(result.pydantic, CalculationResult)


# -- stop words --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5-pro", "gpt-5.1", "gpt-5.2-chat"]
)
def test_gpt5_models_do_not_take_stop_words(model: str) -> None:
    assert LLM(model, api_key="k").supports_stop_words() is False


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini"])
def test_other_models_take_stop_words(model: str) -> None:
    assert LLM(model, api_key="k").supports_stop_words() is True


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-5.2"])
def test_stop_words_cut_a_text_answer_client_side(server: SpawnedSim, model: str) -> None:
    """The simulator ignores ``stop`` (as it ignores every field it does not model), so the
    cut seen here is the client's, for models that take ``stop`` and models that do not."""
    full = llm_on(server.base_url, model).call("I need to search for more information.")
    assert " to: " in full
    cut = llm_on(server.base_url, model, stop=[" to: ", "Final Answer:"]).call(
        "I need to search for more information."
    )
    assert cut == full[: full.index(" to: ")].strip()
    assert "search for more" not in cut


def test_stop_words_are_not_applied_to_structured_output(server: SpawnedSim) -> None:
    """The JSON answer holds the stop word (the echo of the prompt): it must stay whole."""
    llm = llm_on(server.base_url, stop=["Observation:", "Final Answer:", "Action:"])
    prompt = "Observation: Found 5 relevant results. Final Answer: growth. Action: search"
    result = llm.call(prompt, response_model=AnswerResponse)
    assert isinstance(result, AnswerResponse)
    assert "Observation:" in result.answer


# -- tool calls without available_functions ----------------------------------------------


def test_streaming_returns_tool_calls_without_available_functions(server: SpawnedSim) -> None:
    result = llm_on(server.base_url, stream=True).call(
        [{"role": "user", "content": "Calculate 1+1"}], tools=[CALCULATOR]
    )
    assert isinstance(result, list)
    assert len(result) == 1
    assert result[0]["function"]["name"] == "calculator"
    assert "expression" in json.loads(result[0]["function"]["arguments"])
    assert result[0]["id"].startswith("call_")
    assert result[0]["type"] == "function"


async def test_async_streaming_returns_tool_calls_without_available_functions(sim) -> None:
    result = await llm_on(sim.base_url, stream=True).acall("Calculate 1+1", tools=[CALCULATOR])
    assert isinstance(result, list)
    assert len(result) == 1
    assert result[0]["function"]["name"] == "calculator"
    assert result[0].function.name == "calculator"
