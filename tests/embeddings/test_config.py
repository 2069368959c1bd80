"""CrewAI's ``embedder=`` dicts for OpenAI, Ollama and Azure: URLs, env fallbacks, errors."""

from __future__ import annotations

import pytest

from fastcrew.embeddings import DEFAULT_OPENAI_MODEL, Embedder, EmbedderConfig, embedder_config
from fastcrew.errors import ConfigurationError
from fastcrew.process_runtime import LLMRedirect

KEY = "sk-secret-embedding-key-0123456789"


def test_default_is_openai_small_with_the_env_key() -> None:
    config = embedder_config(None, env={"OPENAI_API_KEY": KEY})
    assert config.provider == "openai"
    assert config.model == DEFAULT_OPENAI_MODEL == "text-embedding-3-small"
    assert config.url == "https://api.openai.com/v1/embeddings"
    assert config.api_key == KEY
    assert config.dimensions is None
    assert config.base64
    assert config.headers()["Authorization"] == f"Bearer {KEY}"


def test_openai_config_fields_and_aliases() -> None:
    spec = {
        "provider": "openai",
        "config": {"model_name": "text-embedding-3-large", "api_key": KEY,
                   "api_base": "http://127.0.0.1:9/v1/", "dimensions": 256},
    }  # fmt: skip
    config = embedder_config(spec, env={})
    assert (config.model, config.url, config.dimensions) == (
        "text-embedding-3-large",
        "http://127.0.0.1:9/v1/embeddings",
        256,
    )
    alias = embedder_config(
        {"provider": "openai", "config": {"model": "m", "base_url": "http://h:1/v1"}}, env={}
    )
    assert (alias.model, alias.url, alias.api_key) == ("m", "http://h:1/v1/embeddings", None)


def test_openai_env_fallbacks_as_crewai_reads_them() -> None:
    env = {
        "EMBEDDINGS_OPENAI_API_KEY": KEY,
        "OPENAI_API_KEY": "other",
        "EMBEDDINGS_OPENAI_MODEL_NAME": "text-embedding-ada-002",
        "OPENAI_API_BASE": "http://proxy:8080/v1",
        "OPENAI_DIMENSIONS": "64",
    }
    config = embedder_config({"provider": "openai"}, env=env)
    assert config.api_key == KEY
    assert config.model == "text-embedding-ada-002"
    assert config.url == "http://proxy:8080/v1/embeddings"
    assert config.dimensions == 64


def test_openai_without_a_key_names_what_to_set() -> None:
    with pytest.raises(ConfigurationError) as caught:
        embedder_config({"provider": "openai", "config": {}}, env={})
    message = str(caught.value)
    assert "'api_key'" in message
    assert "OPENAI_API_KEY" in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, "http://localhost:11434/v1/embeddings"),  # CrewAI's default /api/embeddings
        ("http://gpu:11434/api/embeddings", "http://gpu:11434/v1/embeddings"),
        ("http://gpu:11434/api/embed", "http://gpu:11434/v1/embeddings"),
        ("http://gpu:11434", "http://gpu:11434/v1/embeddings"),
        ("http://gpu:11434/v1", "http://gpu:11434/v1/embeddings"),
        ("http://gpu:11434/v1/embeddings", "http://gpu:11434/v1/embeddings"),
        ("http://proxy/ollama/api/embeddings", "http://proxy/ollama/v1/embeddings"),
    ],
)
def test_ollama_urls_go_to_the_openai_compatible_path(url: str | None, expected: str) -> None:
    config = {"model": "nomic-embed-text"} | ({"url": url} if url else {})
    resolved = embedder_config({"provider": "ollama", "config": config}, env={})
    assert (resolved.url, resolved.model, resolved.api_key) == (expected, "nomic-embed-text", None)
    assert not resolved.base64  # plain floats: what every Ollama version answers


def test_ollama_env_and_missing_model() -> None:
    env = {"OLLAMA_MODEL": "mxbai-embed-large", "OLLAMA_URL": "http://box:11434/api/embeddings"}
    config = embedder_config({"provider": "ollama"}, env=env)
    assert (config.model, config.url) == ("mxbai-embed-large", "http://box:11434/v1/embeddings")
    with pytest.raises(ConfigurationError, match=r"needs a model.*'model'.*OLLAMA_MODEL"):
        embedder_config({"provider": "ollama", "config": {}}, env={})


def test_azure_deployment_url_and_api_key_header() -> None:
    spec = {
        "provider": "azure",
        "config": {
            "deployment_id": "emb-small",
            "api_key": KEY,
            "model_name": "text-embedding-3-small",
            "api_base": "https://res.openai.azure.com/",
            "api_version": "2024-10-21",
        },
    }
    config = embedder_config(spec, env={})
    assert config.url == (
        "https://res.openai.azure.com/openai/deployments/emb-small/embeddings"
        "?api-version=2024-10-21"
    )
    assert config.endpoint == "https://res.openai.azure.com/openai/deployments/emb-small/embeddings"
    assert config.model == "text-embedding-3-small"
    assert config.headers()["api-key"] == KEY
    assert "Authorization" not in config.headers()


def test_azure_model_as_deployment_env_and_default_version() -> None:
    env = {"AZURE_API_BASE": "https://res.openai.azure.com/openai", "AZURE_API_KEY": KEY}
    config = embedder_config({"provider": "azure", "config": {"model": "emb"}}, env=env)
    assert config.url == (
        "https://res.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-02-01"
    )
    assert config.api_key == KEY


def test_azure_names_everything_missing() -> None:
    with pytest.raises(ConfigurationError) as caught:
        embedder_config({"provider": "azure", "config": {}}, env={})
    message = str(caught.value)
    for needed in ("deployment_id", "AZURE_OPENAI_DEPLOYMENT", "api_base", "AZURE_API_BASE",
                   "api_key", "AZURE_API_KEY"):  # fmt: skip
        assert needed in message


@pytest.mark.parametrize("provider", ["cohere", None, "bedrock"])
def test_unsupported_provider(provider: str | None) -> None:
    with pytest.raises(ConfigurationError, match=r"not supported.*'openai', 'ollama', 'azure'"):
        embedder_config({"provider": provider, "config": {}}, env={})


@pytest.mark.parametrize("dims", [0, -3, "x", 1.5, True])
def test_bad_dimensions(dims: object) -> None:
    with pytest.raises(ConfigurationError, match="dimensions"):
        embedder_config({"provider": "openai", "config": {"api_key": "k", "dimensions": dims}})


def test_keys_never_in_reprs_or_errors() -> None:
    config = embedder_config({"provider": "openai", "config": {"api_key": KEY}}, env={})
    embedder = Embedder(config, cache=False)
    for text in (repr(config), repr(embedder), str(config)):
        assert KEY not in text
        assert "api_key='***'" in text
    with pytest.raises(ConfigurationError) as caught:
        embedder_config(
            {"provider": "azure", "config": {"api_key": KEY, "api_base": "notaurl"}}, env={}
        )
    assert KEY not in str(caught.value)


def test_a_redirect_keeps_the_wire_and_reads_no_key() -> None:
    redirect = LLMRedirect("http://127.0.0.1:7/v1", "sim-key")
    env = {"OPENAI_API_KEY": KEY, "OPENAI_API_BASE": "https://real/v1", "OPENAI_DIMENSIONS": "32"}
    openai = embedder_config(None, env=env, redirect=redirect)
    assert (openai.url, openai.api_key, openai.dimensions) == (
        "http://127.0.0.1:7/v1/embeddings",
        "sim-key",
        32,
    )
    azure = embedder_config(
        {"provider": "azure", "config": {"deployment_id": "d"}}, env=env, redirect=redirect
    )
    assert azure.url.startswith("http://127.0.0.1:7/openai/deployments/d/embeddings?api-version=")
    assert isinstance(azure, EmbedderConfig)
    assert azure.api_key == "sim-key"
