import pytest

from fastcrew.errors import ConfigurationError
from fastcrew.llm.providers import resolve_endpoint


@pytest.mark.parametrize(
    ("model", "provider", "name", "base"),
    [
        ("gpt-4o-mini", "openai", "gpt-4o-mini", "https://api.openai.com/v1"),
        ("openai/gpt-4o-mini", "openai", "gpt-4o-mini", "https://api.openai.com/v1"),
        ("ollama/llama3.1", "ollama", "llama3.1", "http://localhost:11434/v1"),
        ("groq/llama-3.1-8b", "groq", "llama-3.1-8b", "https://api.groq.com/openai/v1"),
    ],
)
def test_model_strings_resolve_like_crewai(model, provider, name, base):
    env = {"OPENAI_API_KEY": "k1", "GROQ_API_KEY": "k2"}
    ep = resolve_endpoint(model, env=env)
    assert (ep.provider, ep.model, ep.base_url) == (provider, name, base)


def test_hosted_vllm_keeps_slashes_in_the_model_name_and_needs_a_base_url():
    ep = resolve_endpoint("hosted_vllm/meta-llama/Llama-3-8B", base_url="http://127.0.0.1:9/v1/")
    assert ep.model == "meta-llama/Llama-3-8B"
    assert ep.base_url == "http://127.0.0.1:9/v1"
    with pytest.raises(ConfigurationError, match="HOSTED_VLLM_API_BASE"):
        resolve_endpoint("hosted_vllm/x", env={})


def test_unknown_prefix_with_base_url_is_sent_verbatim():
    ep = resolve_endpoint("meta-llama/Llama-3", base_url="http://127.0.0.1:9/v1", env={})
    assert ep.model == "meta-llama/Llama-3"
    assert ep.api_key is None


def test_env_defaults_for_model_base_url_and_key():
    env = {"MODEL": "gpt-4.1", "OPENAI_API_BASE": "http://127.0.0.1:1/v1", "OPENAI_API_KEY": "k"}
    ep = resolve_endpoint(None, env=env)
    assert (ep.model, ep.base_url, ep.api_key) == ("gpt-4.1", "http://127.0.0.1:1/v1", "k")
    ep = resolve_endpoint(None, env={"OPENAI_MODEL_NAME": "m", "OPENAI_BASE_URL": "http://h/v1"})
    assert (ep.model, ep.base_url) == ("m", "http://h/v1")


def test_explicit_arguments_beat_env():
    env = {"OPENAI_BASE_URL": "http://env/v1", "OPENAI_API_KEY": "env-key"}
    ep = resolve_endpoint("gpt-4o", base_url="http://arg/v1", api_key="arg-key", env=env)
    assert (ep.base_url, ep.api_key) == ("http://arg/v1", "arg-key")


def test_missing_key_for_the_official_endpoint_says_how_to_configure():
    with pytest.raises(ConfigurationError) as info:
        resolve_endpoint("gpt-4o-mini", env={})
    message = str(info.value)
    assert "OPENAI_API_KEY" in message
    assert "base_url" in message


def test_no_key_needed_for_a_custom_base_url_or_local_ollama():
    assert resolve_endpoint("gpt-4o-mini", base_url="http://127.0.0.1:5/v1", env={}).api_key is None
    assert resolve_endpoint("ollama/llama3.1", env={}).api_key is None


@pytest.mark.parametrize("url", ["ftp://x/v1", "127.0.0.1:8000", "http:///v1"])
def test_bad_base_url_is_refused(url):
    with pytest.raises(ConfigurationError, match="http"):
        resolve_endpoint("x", base_url=url, env={})


def test_bad_base_url_error_hides_credentials_in_the_url():
    with pytest.raises(ConfigurationError) as info:
        resolve_endpoint("x", base_url="ftp://user:sekrit@host/v1", env={})
    assert "sekrit" not in str(info.value)


def test_unsupported_provider_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="bedrock"):
        resolve_endpoint("bedrock/anthropic.claude-3", env={})
