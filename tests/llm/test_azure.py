"""``LLM("azure/<deployment>")`` against the simulator's Azure OpenAI path."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import openai
import pytest

from fastcrew import LLM, Agent, Crew, RateLimit, RetryPolicy, Task, errors
from fastcrew.limits import SharedBudget
from fastcrew.limits.source import LocalBudget
from fastcrew.sim import Simulator, serve
from fastcrew.tools import tool

KEY = "azure-sim-key-0000000000"
VERSION = "2024-10-21"
FAST_RETRY = RetryPolicy(max_attempts=10, base_delay=0.001, max_delay=0.01)


def resource(sim: Simulator) -> str:
    """The simulator as an Azure resource URL (``https://myres.openai.azure.com``)."""
    return sim.base_url.removesuffix("/v1")


def azure_llm(sim: Simulator, deployment: str = "dep", **kwargs: Any) -> LLM:
    kwargs.setdefault("api_key", KEY)
    return LLM(f"azure/{deployment}", base_url=resource(sim), api_version=VERSION, **kwargs)


async def test_chat_reaches_the_deployment_path_with_the_deployments_model() -> None:
    async with serve(api_key=KEY, azure_deployments="prod=gpt-4o-mini") as sim:
        llm = azure_llm(sim, "prod")
        answer = await llm.achat("Hello Azure")
        stats = sim.stats()
    assert "Hello Azure" in answer.content
    assert answer.model == "gpt-4o-mini"
    assert answer.finish_reason == "stop"
    assert stats["by_wire"]["azure"] == 1
    assert llm.provider == "azure"
    assert llm.model_name == "prod"
    assert llm.model == "azure/prod"
    assert KEY not in repr(llm)


async def test_streaming_and_crewai_call() -> None:
    async with serve(api_key=KEY) as sim:
        llm = azure_llm(sim)
        stream = await llm.achat("stream me", stream=True)
        text = "".join([delta.content async for delta in stream])
        said = await llm.acall("call me")
    assert "stream me" in text
    assert "call me" in said


async def test_same_answer_as_openais_azure_client_on_the_same_path() -> None:
    async with serve(api_key=KEY) as sim:
        ours = await azure_llm(sim).achat("same path", seed=1)
        async with openai.AsyncAzureOpenAI(
            azure_endpoint=resource(sim), api_version=VERSION, api_key=KEY, max_retries=0
        ) as client:
            theirs = await client.chat.completions.create(
                model="dep", messages=[{"role": "user", "content": "same path"}], seed=1
            )
        stats = sim.stats()
    assert ours.content == theirs.choices[0].message.content
    assert stats["by_wire"]["azure"] == 2


@tool("Word Counter")
def count_words(text: str) -> str:
    """Counts the words of a text."""
    return f"COUNTED {len(text.split())}"


async def test_a_tool_round_trip_through_an_agent_and_crew() -> None:
    async with serve(api_key=KEY, tool_rounds=1, parallel_calls=1) as sim:
        agent = Agent(
            role="Researcher", goal="Find facts", backstory="Careful.", llm=azure_llm(sim),
            tools=[count_words],
        )  # fmt: skip
        task = Task(description="Research {topic}", expected_output="Facts", agent=agent)
        out = await Crew(agents=[agent], tasks=[task]).akickoff({"topic": "batteries"})
        stats = sim.stats()
    assert "COUNTED" in out.raw
    assert stats["tool_calls"] == stats["tool_results"] == 1
    assert stats["by_wire"]["azure"] == stats["requests_total"] == 2


async def test_configured_from_crewais_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    async with serve(api_key=KEY) as sim:
        monkeypatch.setenv("AZURE_API_BASE", resource(sim) + "/")
        monkeypatch.setenv("AZURE_API_KEY", KEY)
        monkeypatch.setenv("AZURE_API_VERSION", VERSION)
        llm = LLM("azure/dep")
        assert (await llm.achat("from env")).content
        monkeypatch.setenv("MODEL", "azure/other")
        assert LLM().model == "azure/other"
        copy = pickle.loads(pickle.dumps(llm))
        monkeypatch.delenv("AZURE_API_VERSION")
        monkeypatch.delenv("AZURE_API_KEY")
        assert copy.api_version == VERSION  # kept through pickling, not re-read from env
        assert (await copy.achat("pickled")).content


def test_missing_settings_name_the_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_API_BASE", "AZURE_API_KEY", "AZURE_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(errors.LLMConfigurationError) as info:
        LLM("azure/dep", api_key="sekrit-key")
    message = str(info.value)
    assert "AZURE_API_BASE" in message
    assert "AZURE_API_VERSION" in message
    assert "AZURE_API_KEY" not in message
    assert "sekrit" not in message
    with pytest.raises(errors.LLMConfigurationError, match="AZURE_API_KEY"):
        LLM("azure/dep", base_url="https://myres.openai.azure.com", api_version=VERSION)


async def test_entra_token_providers_sync_and_async_are_asked_per_request() -> None:
    asked: list[str] = []

    def sync_token() -> str:
        asked.append("sync")
        return KEY

    async def async_token() -> str:
        asked.append("async")
        return KEY

    async with serve(api_key=KEY) as sim:
        for provider in (sync_token, async_token):
            llm = LLM("azure/dep", base_url=resource(sim), api_version=VERSION,
                      azure_ad_token_provider=provider)  # fmt: skip
            await llm.achat("one")
            await llm.achat("two", stream=True)
        wrong = LLM("azure/dep", base_url=resource(sim), api_version=VERSION,
                    azure_ad_token_provider=lambda: "not-the-token")  # fmt: skip
        with pytest.raises(errors.AuthenticationError):
            await wrong.achat("x")
    assert asked == ["sync", "sync", "async", "async"]


async def test_a_content_filter_refusal_is_a_clear_error_and_not_retried() -> None:
    async with serve(api_key=KEY, content_filter_rate=1.0) as sim:
        with pytest.raises(errors.ContentFilterError) as info:
            await azure_llm(sim, retry=FAST_RETRY).achat("refuse me")
        stats = sim.stats()
    err = info.value
    assert isinstance(err, errors.BadRequestError)
    assert err.status == 400
    assert str(err).startswith("Azure's content filter refused the prompt: ")
    [(category, severity)] = err.categories.items()
    assert f"{category} ({severity})" in str(err)
    assert severity == "high"
    assert stats["requests_total"] == 1
    assert pickle.loads(pickle.dumps(err)).categories == err.categories


async def test_an_answer_cut_by_the_content_filter_is_kept_and_says_so() -> None:
    async with serve(api_key=KEY, content_filter_output_rate=1.0) as sim:
        llm = azure_llm(sim)
        answer = await llm.achat("cut me")
        text = await llm.acall("cut me")
    assert answer.finish_reason == "content_filter"
    assert answer.content
    assert text == answer.content


async def test_429s_honour_retry_after_ms_not_the_rounded_retry_after() -> None:
    # One call per 10 ms: 429s carry retry-after: 1 (rounded up) and retry-after-ms: ~10.
    # Azure's headers teach no rate: every call is sent and refused until its turn.
    retry = RetryPolicy(max_attempts=60, base_delay=0.001, max_delay=0.01)
    async with serve(api_key=KEY, rpm=6000, limit_window_s=0.01) as sim:
        llm = azure_llm(sim, retry=retry)
        results = await asyncio.gather(*(llm.achat(f"c{i}") for i in range(30)))
        stats = sim.stats()
    limited = stats["by_status"].get("429", 0)
    assert len(results) == 30
    assert limited == sum(r.retries for r in results)
    limiter = llm.limiter()
    assert limiter.stats.rate_limited == limited
    assert limiter.stats.paused_s < 0.05 * max(limited, 1)  # milliseconds, never whole seconds


async def test_azures_remaining_headers_tighten_a_configured_budget_and_teach_no_rate() -> None:
    async with serve(api_key=KEY, rpm=1000, tpm=100_000) as sim:
        auto = azure_llm(sim, rate_limit=RateLimit())  # "auto": nothing to learn a rate from
        answers = [await auto.achat(f"call {i}") for i in range(3)]
        quota = azure_llm(sim, "quota", rate_limit=RateLimit(rpm=60_000, tpm=None))
        await quota.achat("one more")  # the deployment's quota is ours; Azure's view is lower
    assert [a.rate_limits.remaining_requests for a in answers] == [999, 998, 997]
    assert all(a.rate_limits.remaining_tokens for a in answers)
    assert all(a.rate_limits.limit_requests is None for a in answers)  # remaining only
    assert all(a.rate_limits.reset_requests is None for a in answers)
    budget = _budget(auto)
    assert (budget.requests, budget.tokens) == (None, None)
    budget = _budget(quota)
    assert budget.requests is not None
    assert budget.requests.rate == pytest.approx(1000)  # ours, not learned
    assert budget.requests.level <= 996  # clamped to what Azure said remains


def _budget(llm: LLM) -> LocalBudget:
    source = llm.limiter().source
    budget = source.budget if isinstance(source, SharedBudget) else source
    assert isinstance(budget, LocalBudget)
    return budget
