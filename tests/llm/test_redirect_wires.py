"""Where ``anthropic/`` and ``azure/`` LLMs go: under an :class:`LLMRedirect` (``--simulate``)
each keeps its own wire to the redirect's base URL with the redirect's key; and
``ANTHROPIC_BASE_URL`` / ``ANTHROPIC_API_BASE`` point Anthropic's LLMs elsewhere."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import anthropic
import pytest

from fastcrew import LLM, errors, run_batch
from fastcrew.llm.providers import redirect_environment
from fastcrew.process_runtime import get_runtime
from fastcrew.sim import SimConfig, Simulator, serve

KEY = "sim-redirect-key-000000"
DEAD = "http://127.0.0.1:9"  # nothing listens: a request there fails
PROVIDER_ENV = {
    "ANTHROPIC_API_KEY": "sk-ant-real-must-not-be-sent",
    "ANTHROPIC_BASE_URL": DEAD,
    "AZURE_API_KEY": "azure-real-must-not-be-sent",
    "AZURE_API_BASE": DEAD,
    "OPENAI_API_KEY": "sk-real-must-not-be-sent",
    "OPENAI_BASE_URL": DEAD + "/v1",
}


@pytest.fixture
def provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real-looking providers in the environment: a redirect must use none of it."""
    for name, value in PROVIDER_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AZURE_API_VERSION", "ANTHROPIC_API_BASE", "MODEL", "MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)


async def call_both_ways(llm: LLM) -> None:
    assert (await llm.achat("plain")).content
    stream = await llm.achat("streamed", stream=True)
    assert "".join([delta.content async for delta in stream])


def redirected(sim: Simulator, model: str | None, **kwargs: Any) -> LLM:
    with get_runtime().redirecting(sim.base_url, KEY):
        return LLM(model, **kwargs)


async def test_anthropic_keeps_the_messages_wire_under_a_redirect(provider_env: None) -> None:
    async with serve(api_key=KEY) as sim:  # any other key is refused (401)
        llm = redirected(sim, "anthropic/claude-sonnet-4-5")
        await call_both_ways(llm)
        stats = sim.stats()
    assert stats["by_wire"] == {"openai": 0, "azure": 0, "anthropic": 2}
    assert llm.provider == "anthropic"
    assert llm._url == sim.base_url + "/messages"
    assert llm._headers["x-api-key"] == KEY
    assert "Authorization" not in llm._headers


async def test_azure_keeps_its_deployment_path_without_azure_env(
    provider_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert SimConfig().deployments() == {}  # --simulate's sim serves any deployment name
    monkeypatch.delenv("AZURE_API_KEY")
    monkeypatch.delenv("AZURE_API_BASE")
    async with serve(api_key=KEY) as sim:
        default = redirected(sim, "azure/my-prod-gpt4o")
        own = redirected(sim, "azure/other", api_version="2025-01-01-preview")
        monkeypatch.setenv("AZURE_API_VERSION", "2024-06-01")
        monkeypatch.setenv("MODEL", "azure/from-env")
        from_env = redirected(sim, None)
        for llm in (default, own, from_env):
            await call_both_ways(llm)
        stats = sim.stats()
    assert stats["by_wire"] == {"openai": 0, "azure": 6, "anthropic": 0}
    root = sim.base_url.removesuffix("/v1")
    assert default._url == (
        f"{root}/openai/deployments/my-prod-gpt4o/chat/completions?api-version=2024-10-21"
    )
    assert own._url.endswith("/openai/deployments/other/chat/completions"
                             "?api-version=2025-01-01-preview")  # fmt: skip
    assert from_env._url.endswith("/deployments/from-env/chat/completions?api-version=2024-06-01")
    assert (default.api_version, own.api_version) == ("2024-10-21", "2025-01-01-preview")
    assert (default.provider, default.model, default.model_name) == (
        "azure",
        "azure/my-prod-gpt4o",
        "my-prod-gpt4o",
    )
    assert default._headers["api-key"] == KEY
    assert "Authorization" not in default._headers


async def test_azure_under_a_redirect_ignores_the_real_resource_and_key(
    provider_env: None,
) -> None:
    async with serve(api_key=KEY) as sim:
        llm = redirected(sim, "azure/prod", base_url=DEAD, api_key="azure-explicit")
        await call_both_ways(llm)
        assert sim.stats()["by_wire"]["azure"] == 2
    assert llm.base_url == sim.base_url.removesuffix("/v1")


async def test_a_redirect_without_a_key_sends_none(provider_env: None) -> None:
    async with serve() as sim:
        with get_runtime().redirecting(sim.base_url):
            claude, az = LLM("anthropic/claude-haiku-4-5"), LLM("azure/prod")
        await call_both_ways(claude)
        await call_both_ways(az)
        assert sim.stats()["by_wire"] == {"openai": 0, "azure": 2, "anthropic": 2}
    assert not claude.has_api_key
    assert not az.has_api_key
    assert "x-api-key" not in claude._headers
    assert "api-key" not in az._headers


async def test_budgets_stay_per_url_under_a_redirect(provider_env: None) -> None:
    async with serve(api_key=KEY) as sim:
        a, b = redirected(sim, "anthropic/claude-a"), redirected(sim, "anthropic/claude-b")
        x, y = redirected(sim, "azure/x"), redirected(sim, "azure/y")
        gpt = redirected(sim, "gpt-4o-mini")
        assert a.limiter() is b.limiter()  # one Messages URL, one key
        limiters = {id(llm.limiter()) for llm in (a, x, y, gpt)}
    assert len(limiters) == 4  # Messages, each deployment's path, chat completions


async def test_a_pickled_redirected_llm_keeps_its_wire(provider_env: None) -> None:
    async with serve(api_key=KEY) as sim:
        for model in ("anthropic/claude-sonnet-4-5", "azure/prod"):
            llm = pickle.loads(pickle.dumps(redirected(sim, model)))
            await call_both_ways(llm)
        assert sim.stats()["by_wire"] == {"openai": 0, "azure": 2, "anthropic": 2}


@pytest.mark.parametrize("name", ["ANTHROPIC_BASE_URL", "ANTHROPIC_API_BASE"])
@pytest.mark.parametrize("v1", [False, True])
async def test_anthropic_base_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, name: str, v1: bool
) -> None:
    for other in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_BASE"):
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    async with serve(api_key=KEY) as sim:
        base = sim.base_url if v1 else sim.base_url.removesuffix("/v1")
        monkeypatch.setenv(name, base)
        llm = LLM("anthropic/claude-sonnet-4-5")
        await call_both_ways(llm)
        assert sim.stats()["by_wire"]["anthropic"] == 2
    assert llm._url == sim.base_url + "/messages"


async def test_the_sdks_variable_wins_and_arguments_win_over_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_API_BASE", DEAD)
    async with serve(api_key=KEY) as sim:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.base_url)
        assert (await LLM("anthropic/claude-sonnet-4-5").achat("sdk's")).content
        monkeypatch.setenv("ANTHROPIC_BASE_URL", DEAD)
        llm = LLM("anthropic/claude-sonnet-4-5", base_url=sim.base_url)
        assert (await llm.achat("argument's")).content
        assert sim.stats()["by_wire"]["anthropic"] == 2


def test_a_bad_anthropic_base_url_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "api.anthropic.com")
    with pytest.raises(errors.ConfigurationError, match="ANTHROPIC_BASE_URL"):
        LLM("anthropic/claude-sonnet-4-5", api_key=KEY)


async def test_the_redirect_environment_points_the_anthropic_sdk_at_the_simulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with serve() as sim:
        env = redirect_environment(sim.base_url)
        root = sim.base_url.removesuffix("/v1")
        assert env["ANTHROPIC_BASE_URL"] == env["ANTHROPIC_API_BASE"] == root  # the SDK adds /v1
        assert env["AZURE_API_BASE"] == env["AZURE_OPENAI_ENDPOINT"] == root
        assert env["OPENAI_BASE_URL"] == sim.base_url
        for name in ("ANTHROPIC_API_KEY", "AZURE_API_KEY", "AZURE_OPENAI_API_KEY"):
            assert name in env
            assert env[name] is None  # unset in a simulated worker
        for name, value in env.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        client = anthropic.AsyncAnthropic(api_key="any")
        message = await client.messages.create(
            model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )
        await client.close()
        assert message.content
        assert sim.stats()["by_wire"]["anthropic"] == 1


CREW = """
from fastcrew import LLM, Agent, Crew, Task


def _crew(model: str, path: str) -> Crew:
    llm = LLM(model)
    if path not in llm._url:  # the wire it would use; the run fails if it is not
        raise RuntimeError(f"{model} would post to {llm._url}")
    agent = Agent(role="Echo", goal="Answer about {topic}", backstory="A test.", llm=llm)
    task = Task(description="Tell me about {topic}", expected_output="One line.", agent=agent)
    return Crew(agents=[agent], tasks=[task])


def claude_crew() -> Crew:
    return _crew("anthropic/claude-sonnet-4-5", "/v1/messages")


def azure_crew() -> Crew:
    return _crew("azure/some-team-deployment", "/openai/deployments/some-team-deployment/")
"""


@pytest.mark.parametrize("factory", ["claude_crew", "azure_crew"])
def test_simulated_batch_keeps_each_wire(tmp_path: Path, provider_env: None, factory: str) -> None:
    crew = tmp_path / "wires_crew.py"
    crew.write_text(CREW)
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps({"topic": t}) + "\n" for t in ("tides", "dunes")))
    out = tmp_path / "out.jsonl"
    result = run_batch(
        inputs, crew=f"{crew}:{factory}", output=out, workers=1, simulate=True, quiet=True
    )
    assert (result.status, result.rows_ok) == ("complete", 2), result.summary
    rows = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert [row["status"] for row in rows] == ["ok", "ok"]
    assert all(row["usage"]["requests"] == 1 for row in rows)
