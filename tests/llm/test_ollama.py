"""``ollama/…`` model strings reach Ollama's OpenAI-compatible ``/v1`` API, also from the bare
server URL CrewAI users write (``base_url="http://localhost:11434"``, ``$OLLAMA_API_BASE``).

The simulator stands in for Ollama: it serves only ``/v1/chat/completions``, so an answer
proves the request reached that path (a request to ``/chat/completions`` gets a 404).
"""

from __future__ import annotations

import pytest

from fastcrew import LLM, Agent, Crew, Task
from fastcrew.errors import LLMError
from fastcrew.llm.providers import origin, resolve_endpoint
from fastcrew.sim import Simulator


@pytest.mark.parametrize(
    ("base_url", "env", "expected"),
    [
        (None, {}, "http://localhost:11434/v1"),
        ("http://localhost:11434", {}, "http://localhost:11434/v1"),
        ("http://localhost:11434/", {}, "http://localhost:11434/v1"),
        ("http://localhost:11434/v1", {}, "http://localhost:11434/v1"),
        ("http://gpu-box:8080/ollama", {}, "http://gpu-box:8080/ollama/v1"),  # behind a proxy
        (None, {"OLLAMA_API_BASE": "http://127.0.0.1:11434"}, "http://127.0.0.1:11434/v1"),
    ],
)
@pytest.mark.parametrize("prefix", ["ollama", "ollama_chat"])
def test_an_ollama_base_url_resolves_to_its_v1_api(prefix, base_url, env, expected):
    ep = resolve_endpoint(f"{prefix}/llama3.1", base_url=base_url, env=env)
    assert (ep.provider, ep.model, ep.base_url, ep.api_key) == (prefix, "llama3.1", expected, None)


def test_other_providers_keep_the_path_they_are_given():
    ep = resolve_endpoint("hosted_vllm/m", base_url="http://127.0.0.1:9", env={})
    assert ep.base_url == "http://127.0.0.1:9"


async def test_llm_with_the_bare_server_url_reaches_v1_chat_completions(sim: Simulator):
    bare = origin(sim.base_url)  # http://127.0.0.1:PORT, no /v1
    assert not bare.endswith("/v1")
    response = await LLM("ollama/llama3.1", base_url=bare).achat("Say hi")
    assert "Say hi" in str(response)
    assert sim.stats()["requests_total"] == 1


async def test_a_crew_with_an_ollama_model_string_and_ollama_api_base(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OLLAMA_API_BASE", origin(sim.base_url))
    agent = Agent(role="Local", goal="Answer", backstory="Runs on Ollama.", llm="ollama/llama3.1")
    task = Task(description="Describe {topic}", expected_output="One line", agent=agent)
    out = await Crew(agents=[agent], tasks=[task]).akickoff({"topic": "llamas"})
    assert "Describe llamas" in out.raw
    assert sim.stats()["requests_total"] == 1


async def test_without_the_v1_rule_the_bare_url_would_miss(sim: Simulator):
    # What `ollama/` used to do with the bare URL: an OpenAI-style client posting to
    # {base}/chat/completions. The simulator (like Ollama) has nothing there.
    with pytest.raises(LLMError):
        await LLM("hosted_vllm/llama3.1", base_url=origin(sim.base_url)).achat("Say hi")
    assert sim.stats()["requests_total"] == 0
