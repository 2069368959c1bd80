"""Agent: construction rules, LLM resolution, unsupported features, direct kickoff."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from fastcrew import (
    LLM,
    Agent,
    ConfigurationError,
    Crew,
    LiteAgentOutput,
    Task,
    UnsupportedFeatureError,
)

from .conftest import agent, sim_llm


class Verdict(BaseModel):
    label: str
    confidence: float


async def test_agent_kickoff_with_a_string(sim, llm):
    a = agent(llm, role="Classifier")
    out = await a.akickoff("Classify: 'Great product!'")
    assert isinstance(out, LiteAgentOutput)
    assert "Great product!" in out.raw
    assert str(out) == out.raw
    assert out.agent_role == "Classifier"
    assert out.usage_metrics["successful_requests"] == 1
    assert out.usage_metrics["prompt_tokens"] == sim.stats()["prompt_tokens"]
    assert [m["role"] for m in out.messages] == ["system", "user", "assistant"]
    assert (await a.kickoff_async(query="Another")).raw != out.raw


async def test_agent_kickoff_with_messages_and_response_format(llm):
    a = agent(llm)
    out = await a.kickoff_async(
        [
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": "second question"},
        ],
        response_format=Verdict,
    )
    assert isinstance(out.pydantic, Verdict)
    assert "second question" in out.pydantic.label
    assert out.to_dict() == out.pydantic.model_dump()


def test_sync_agent_kickoff(spawned_sim):
    out = agent(sim_llm(spawned_sim.base_url)).kickoff("Hello there")
    assert "Hello there" in out.raw
    with pytest.raises(TypeError, match="needs messages"):
        agent(sim_llm(spawned_sim.base_url)).kickoff()


def test_llm_from_a_string_or_the_environment(sim, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("MODEL", "env-model")
    default = Agent(role="r", goal="g", backstory="b")
    assert isinstance(default.llm, LLM)
    assert default.llm.model_name == "env-model"
    named = Agent(role="r", goal="g", backstory="b", llm="openai/gpt-4o-mini")
    assert named.llm.model_name == "gpt-4o-mini"
    assert named.llm.base_url == sim.base_url
    with pytest.raises(ConfigurationError, match="async"):
        Agent(role="r", goal="g", backstory="b", llm=object())


def test_missing_key_fails_at_construction(monkeypatch):
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match="no API key"):
        Agent(role="r", goal="g", backstory="b", llm="gpt-4o-mini")


def test_unsupported_features_are_refused_by_name(llm):
    with pytest.raises(UnsupportedFeatureError, match="reasoning"):
        agent(llm, reasoning=True)
    with pytest.raises(UnsupportedFeatureError, match="human review"):
        Task(description="x", expected_output="y", human_input=True)
    a = agent(llm)
    task = Task(description="x", expected_output="y", agent=a)
    with pytest.raises(UnsupportedFeatureError, match="crew planning"):
        Crew(agents=[a], tasks=[task], planning=True)
    # switched off, or harmless: accepted
    agent(llm, tools=[], allow_delegation=False, memory=False, cache=True, step_callback=print)
    Crew(agents=[a], tasks=[task], memory=False, cache=True, share_crew=False)
    Task(description="x", expected_output="y", verbose=True, tools_errors=0)  # CrewAI no-ops
    with pytest.raises(ValidationError, match="rol"):
        Agent(rol="typo", goal="g", backstory="b", llm=llm)


def test_objects_that_are_not_tools_are_refused_naming_the_kinds_accepted(llm):
    kinds = r"fastcrew tools.*CrewAI tools.*LangChain tools"
    with pytest.raises(ConfigurationError, match=rf"Agent\(tools=...\) got function.*{kinds}"):
        agent(llm, tools=[lambda: None])
    with pytest.raises(ConfigurationError, match=r"decorate a function with @tool"):
        agent(llm, tools=[print])
    with pytest.raises(ConfigurationError, match=rf"Task\(tools=...\) got object.*{kinds}"):
        Task(description="x", expected_output="y", tools=[object()])


def test_config_dicts_fill_fields(llm):
    a = Agent(config={"role": "From yaml", "goal": "g", "backstory": "b"}, llm=llm)
    t = Task(config={"description": "Do {x}", "expected_output": "y"}, agent=a, max_retries=5)
    assert (a.role, t.description, t.guardrail_max_retries) == ("From yaml", "Do {x}", 5)


def test_stored_compatibility_fields(llm):
    a = agent(llm, max_rpm=10, max_iter=5, max_retry_limit=1, verbose=True)
    assert (a.max_rpm, a.max_iter, a.max_retry_limit) == (10, 5, 1)
    crew = Crew(agents=[a], tasks=[Task(description="x", expected_output="y", agent=a)], max_rpm=30)
    assert crew.max_rpm == 30
    assert crew.copy() is not crew
    assert crew.copy().tasks == crew.tasks
