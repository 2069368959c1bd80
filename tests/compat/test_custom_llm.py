"""CrewAI compatibility: custom LLMs subclassing ``BaseLLM``, as CrewAI's
``tests/test_custom_llm.py`` pins them down (CrewAI 1.15.30; written for fastcrew, not
copied).

Covered: all 6 of its tests, all passing — ``test_custom_llm_implementation``,
``test_custom_llm_within_crew``, ``test_custom_llm_message_formatting``,
``test_custom_llm_with_jwt_auth``, ``test_jwt_auth_llm_validation``,
``test_timeout_handling_llm``. CrewAI checks that ``create_llm(custom)`` hands the object
back unchanged; fastcrew has no public ``create_llm``, and the same promise is checked where
users meet it: ``Agent(llm=custom).llm is custom``.

Beyond CrewAI's file: both import paths; a custom ``call`` that blocks runs in the runtime's
thread pool (concurrent crews overlap, the event loop stays free); a native ``async def
acall`` is awaited; a custom LLM that supports function calling gets OpenAI ``tools`` and may
answer with tool calls (dicts or ``openai``-SDK-style objects) and with a pydantic model for a
task's ``output_pydantic`` (passed to it as ``response_model``); ``BaseLLM``'s fields
(``stop`` normalised, extras in ``additional_params``, ``api_key`` out of the repr).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from fastcrew import LLM, Agent, Crew, Process, Task, tool
from fastcrew.llms.base_llm import BaseLLM


class CustomLLM(BaseLLM):
    """Answers a fixed text; its ``acall`` is not implemented (CrewAI's test LLM)."""

    def __init__(self, response: str = "Default response", model: str = "test-model") -> None:
        super().__init__(model=model)
        self.response = response
        self.call_count = 0

    def call(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
    ) -> str:
        self.call_count += 1
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        for message in messages:  # rewrites the messages in place, as CrewAI's test LLM does
            if isinstance(message["content"], str):
                message["content"] = [{"type": "text", "text": message["content"]}]
        if "Thought:" in str(messages):
            return f"Thought: I will say hi\nFinal Answer: {self.response}"
        return self.response

    def supports_function_calling(self) -> bool:
        return False

    def supports_stop_words(self) -> bool:
        return False

    def get_context_window_size(self) -> int:
        return 4096

    async def acall(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


class JWTAuthLLM(BaseLLM):
    """Validates its token in ``__init__`` and records every call."""

    def __init__(self, jwt_token: Any) -> None:
        super().__init__(model="test-model")
        if not jwt_token or not isinstance(jwt_token, str):
            raise ValueError("Invalid JWT token")
        self.jwt_token = jwt_token
        self.calls: list[dict[str, Any]] = []
        self.stop = []

    def call(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
    ) -> str:
        self.calls.append(
            {
                "messages": messages,
                "tools": tools,
                "callbacks": callbacks,
                "available_functions": available_functions,
            }
        )
        return "Response from JWT-authenticated LLM"

    def supports_function_calling(self) -> bool:
        return True

    def get_context_window_size(self) -> int:
        return 8192


class TimeoutHandlingLLM(BaseLLM):
    """Retries inside ``call``: ``fail_count`` attempts fail before one succeeds."""

    def __init__(self, max_retries: int = 3, timeout: int = 30) -> None:
        super().__init__(model="test-model")
        self.max_retries = max_retries
        self.timeout = timeout
        self.calls: list[dict[str, Any]] = []
        self.fail_count = 0

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        self.calls.append({"messages": messages, "attempt": 0})
        for attempt in range(self.max_retries):
            if attempt > 0:
                self.calls.append({"retry_attempt": attempt, "messages": messages})
            if self.fail_count > 0:
                self.fail_count -= 1
                if attempt == self.max_retries - 1:
                    raise TimeoutError(f"LLM request failed after {self.max_retries} attempts")
                continue
            return "First attempt response" if attempt == 0 else "Response after retry"
        raise AssertionError("unreachable")


def make_crew(llm: Any, **agent_kw: Any) -> Crew:
    agent = Agent(
        role="Say Hi", goal="Say hi to the user", backstory="You just say hi.", llm=llm, **agent_kw
    )
    task = Task(description="Say hi to the user", expected_output="A greeting", agent=agent)
    return Crew(agents=[agent], tasks=[task], process=Process.sequential)


# -- CrewAI's tests ----------------------------------------------------------------------


def test_custom_llm_implementation() -> None:
    custom = CustomLLM(response="The answer is 42")
    agent = Agent(role="r", goal="g", backstory="b", llm=custom)
    assert agent.llm is custom  # CrewAI: create_llm(custom) is custom
    assert "42" in agent.llm.call("What is the answer to life, the universe, and everything?")


def test_custom_llm_within_crew() -> None:
    custom = CustomLLM(response="Hello! Nice to meet you!", model="test-model")
    result = make_crew(custom).kickoff()
    assert custom.call_count > 0
    assert "Hello!" in result.raw


async def test_custom_llm_within_crew_async() -> None:
    custom = CustomLLM(response="Hello! Nice to meet you!")
    result = await make_crew(custom).akickoff()
    assert custom.call_count == 1
    assert result.raw == "Hello! Nice to meet you!"


def test_custom_llm_message_formatting() -> None:
    custom = CustomLLM(response="Test response", model="test-model")
    assert custom.call("Test message") == "Test response"
    messages = [
        {"role": "system", "content": "System message"},
        {"role": "user", "content": "User message"},
    ]
    assert custom.call(messages) == "Test response"


def test_custom_llm_with_jwt_auth() -> None:
    jwt_llm = JWTAuthLLM(jwt_token="example.jwt.token")
    agent = Agent(role="r", goal="g", backstory="b", llm=jwt_llm)
    assert agent.llm is jwt_llm
    assert jwt_llm.call("Test message") == "Response from JWT-authenticated LLM"
    assert len(jwt_llm.calls) > 0


def test_jwt_auth_llm_validation() -> None:
    with pytest.raises(ValueError, match="Invalid JWT token"):
        JWTAuthLLM(jwt_token="")
    with pytest.raises(ValueError, match="Invalid JWT token"):
        JWTAuthLLM(jwt_token=None)


def test_timeout_handling_llm() -> None:
    llm = TimeoutHandlingLLM()
    assert llm.call("Test message") == "First attempt response"
    assert len(llm.calls) == 1

    llm = TimeoutHandlingLLM()
    llm.fail_count = 1
    assert llm.call("Test message") == "Response after retry"
    assert len(llm.calls) == 2

    llm = TimeoutHandlingLLM(max_retries=2)
    llm.fail_count = 2
    with pytest.raises(TimeoutError, match="LLM request failed after 2 attempts"):
        llm.call("Test message")
    assert len(llm.calls) == 2


# -- the rest of BaseLLM -----------------------------------------------------------------


def test_both_import_paths_and_the_crewai_llm_is_a_base_llm() -> None:
    import fastcrew
    import fastcrew.llms

    assert fastcrew.BaseLLM is BaseLLM is fastcrew.llms.BaseLLM
    assert isinstance(LLM("gpt-4o", api_key="k"), BaseLLM)
    assert not isinstance(object(), BaseLLM)


def test_base_llm_fields() -> None:
    class Plain(BaseLLM):
        def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
            return "plain"

    llm = Plain(model="m", api_key="secret-key", stop="END", temperature=0.1, region="eu")
    assert llm.stop == ["END"]
    assert llm.additional_params == {"region": "eu"}
    assert llm.temperature == 0.1
    assert "secret-key" not in repr(llm)
    assert llm.supports_stop_words() is True
    assert llm.get_context_window_size() == 4096
    assert llm.supports_function_calling() is False
    llm.stop = "Observation:"
    assert llm.stop == ["Observation:"]
    assert llm._apply_stop_words("text Observation: more") == "text"
    with pytest.raises(ValueError, match="Model name is required"):
        Plain(model="")
    with pytest.raises(TypeError):
        BaseLLM(model="m")  # type: ignore[abstract]


async def test_a_blocking_call_runs_in_the_thread_pool() -> None:
    """Two crews on one custom LLM whose ``call`` blocks: the calls overlap (a barrier both
    must reach) and the event loop is never blocked."""
    barrier = threading.Barrier(2, timeout=10)
    loop_threads: set[int] = set()

    class Blocking(BaseLLM):
        def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
            loop_threads.add(threading.get_ident())
            barrier.wait()  # only returns once the other crew's call is in flight too
            return "done"

    llm = Blocking(model="blocking")
    outputs = await asyncio.gather(make_crew(llm).akickoff(), make_crew(llm).akickoff())
    assert [o.raw for o in outputs] == ["done", "done"]
    assert threading.get_ident() not in loop_threads


async def test_a_native_async_acall_is_awaited() -> None:
    class Native(BaseLLM):
        def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
            raise AssertionError("the sync call must not be used")

        async def acall(self, messages: Any, *args: Any, **kwargs: Any) -> str:
            await asyncio.sleep(0)
            return f"async answer to {len(messages)} messages"

    result = await make_crew(Native(model="native")).akickoff()
    assert result.raw.startswith("async answer to ")


async def test_a_function_calling_custom_llm_gets_tools_and_may_call_them() -> None:
    used: list[str] = []

    @tool
    def greet(name: str) -> str:
        """Greet someone by name."""
        used.append(name)
        return f"hi {name}"

    class Caller(BaseLLM):
        seen_tools: Any = None

        def supports_function_calling(self) -> bool:
            return True

        def call(self, messages: Any, tools: Any = None, *args: Any, **kwargs: Any) -> Any:
            self.seen_tools = tools
            if any(m.get("role") == "tool" for m in messages):
                return "Greeted: " + messages[-1]["content"]
            return [{"id": "c1", "function": {"name": "greet", "arguments": {"name": "Ada"}}}]

    llm = Caller(model="caller")
    result = await make_crew(llm, tools=[greet]).akickoff()
    assert used == ["Ada"]
    assert llm.seen_tools[0]["function"]["name"] == "greet"
    assert result.raw == "Greeted: hi Ada"


async def test_sdk_style_tool_calls_and_a_model_answer_are_understood() -> None:
    """A custom LLM may hand back what the ``openai`` SDK gives (objects with
    ``.function.name``) and, for a task with ``output_pydantic``, the model itself."""
    from types import SimpleNamespace

    from pydantic import BaseModel

    class Greeting(BaseModel):
        text: str

    @tool
    def greet(name: str) -> str:
        """Greet someone by name."""
        return f"hi {name}"

    class SdkStyle(BaseLLM):
        schemas: list[Any] = []

        def supports_function_calling(self) -> bool:
            return True

        def call(self, messages: Any, tools: Any = None, *args: Any, **kwargs: Any) -> Any:
            self.schemas.append(kwargs.get("response_model"))
            if any(m.get("role") == "tool" for m in messages):
                return Greeting(text=messages[-1]["content"])
            function = SimpleNamespace(name="greet", arguments='{"name": "Bo"}')
            return [SimpleNamespace(id="call_9", type="function", function=function)]

    llm = SdkStyle(model="sdk")
    agent = Agent(role="r", goal="g", backstory="b", llm=llm, tools=[greet])
    task = Task(
        description="Greet Bo", expected_output="A greeting", output_pydantic=Greeting, agent=agent
    )
    result = await Crew(agents=[agent], tasks=[task]).akickoff()
    assert result.pydantic == Greeting(text="hi Bo")
    assert llm.schemas[-1] is Greeting  # the task's model reaches the LLM as response_model
