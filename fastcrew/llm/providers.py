"""CrewAI-style model strings → an OpenAI-compatible endpoint, model name and key.

``"gpt-4o-mini"`` and ``"openai/gpt-4o-mini"`` go to OpenAI; ``"ollama/llama3.1"`` (or
``"ollama_chat/..."``) to a local Ollama's OpenAI-compatible ``/v1`` API, also when the base
URL is the bare server (``http://localhost:11434``, as CrewAI users write it);
``"hosted_vllm/<name>"`` (or any string, with ``base_url``) to any OpenAI-compatible server.
``"azure/<deployment>"`` is Azure OpenAI's own path: :mod:`fastcrew.llm.azure`.
The prefix is stripped only when it names a known provider.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigurationError, LLMConfigurationError

__all__ = [
    "DEFAULT_MODEL",
    "Endpoint",
    "Provider",
    "check_url",
    "display_url",
    "endpoint_url",
    "origin",
    "redirect_environment",
    "resolve_endpoint",
]

DEFAULT_MODEL = "gpt-4.1-mini"
"""CrewAI's default model (``crewai.constants.DEFAULT_LLM_MODEL``)."""


@dataclass(frozen=True, slots=True)
class Provider:
    """An OpenAI-compatible provider: default base URL and the env vars it reads."""

    name: str
    base_url: str | None
    key_env: tuple[str, ...] = ()
    base_env: tuple[str, ...] = ()
    needs_key: bool = True
    api_path: str = ""
    """Appended to a base URL whose path does not already end with it: where the server's
    OpenAI-compatible API lives (Ollama: ``/v1``; its native API is elsewhere)."""
    sdk_path: str = ""
    """Removed from a redirect's base URL before :func:`redirect_environment` writes it to
    ``base_env``: the provider's SDK adds its own path there (Anthropic's ``/v1/messages``,
    Azure's ``/openai/deployments/…``), so it gets the server's root."""


def _ollama(name: str) -> Provider:
    return Provider(
        name,
        "http://localhost:11434/v1",
        base_env=("OLLAMA_API_BASE",),
        needs_key=False,
        api_path="/v1",
    )


_OPENAI = Provider(
    "openai",
    "https://api.openai.com/v1",
    key_env=("OPENAI_API_KEY",),
    base_env=("OPENAI_BASE_URL", "OPENAI_API_BASE"),
)

PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        _OPENAI,
        _ollama("ollama"),
        _ollama("ollama_chat"),  # LiteLLM's spelling for Ollama's chat endpoint
        Provider(
            "hosted_vllm",
            None,
            key_env=("HOSTED_VLLM_API_KEY",),
            base_env=("HOSTED_VLLM_API_BASE",),
            needs_key=False,
        ),
        Provider("lm_studio", "http://localhost:1234/v1", needs_key=False),
        Provider("openrouter", "https://openrouter.ai/api/v1", key_env=("OPENROUTER_API_KEY",)),
        Provider("groq", "https://api.groq.com/openai/v1", key_env=("GROQ_API_KEY",)),
        Provider("deepseek", "https://api.deepseek.com/v1", key_env=("DEEPSEEK_API_KEY",)),
        Provider("mistral", "https://api.mistral.ai/v1", key_env=("MISTRAL_API_KEY",)),
        Provider("together_ai", "https://api.together.xyz/v1", key_env=("TOGETHERAI_API_KEY",)),
        Provider(
            "gemini",
            "https://generativelanguage.googleapis.com/v1beta/openai",
            key_env=("GEMINI_API_KEY",),
        ),
        Provider(
            "anthropic",
            "https://api.anthropic.com/v1",
            key_env=("ANTHROPIC_API_KEY",),
            # The SDK's variable (a URL with or without /v1), then LiteLLM's.
            base_env=("ANTHROPIC_BASE_URL", "ANTHROPIC_API_BASE"),
            sdk_path="/v1",
        ),
    )
}

_AZURE_ENV = Provider(
    "azure",
    None,
    key_env=("AZURE_API_KEY", "AZURE_OPENAI_API_KEY"),
    base_env=("AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT"),
    sdk_path="/v1",
)
"""Azure's env vars (CrewAI's, then the openai SDK's), for :func:`redirect_environment` only:
``azure/<deployment>`` resolves in :mod:`fastcrew.llm.azure`."""

_UNSUPPORTED = {"bedrock", "vertex_ai", "sagemaker", "watsonx", "huggingface"}


def redirect_environment(base_url: str) -> dict[str, str | None]:
    """Env settings that send every provider's model strings to ``base_url`` and hold no
    provider key (None: unset) — a simulated batch worker runs with them, so an LLM built
    anywhere (``llm="gpt-4o-mini"`` inside a flow method) talks to the simulator, and one that
    names a real endpoint explicitly has no key to spend there. Anthropic's and Azure's SDKs
    add their own path, so theirs get ``base_url`` without its ``/v1``."""
    env: dict[str, str | None] = {}
    for provider in (*PROVIDERS.values(), _AZURE_ENV):
        url = base_url.removesuffix(provider.sdk_path)
        env.update(dict.fromkeys(provider.key_env))
        env.update(dict.fromkeys(provider.base_env, url))
    return env


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to send a chat completion."""

    provider: str
    model: str
    base_url: str
    api_key: str | None


def _first_env(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if env.get(name):
            return env[name]
    return None


def check_url(url: str, source: str = "base_url") -> str:
    """The URL without a trailing slash, or a :class:`ConfigurationError` naming ``source``
    (the argument or env var it came from) and what to fix; it never echoes credentials."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigurationError(
            f"{source} has an invalid port; give one like 'http://127.0.0.1:8000/v1'."
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{source} {origin(url)!r} is not an http(s) URL; "
            "give one like 'http://127.0.0.1:8000/v1'."
        )
    if parts.username is not None or parts.password is not None:
        raise LLMConfigurationError(
            f"{source} {display_url(url)!r} contains credentials: base_url must not contain "
            "user:password@. Put the key in api_key= (or --api-key / the provider's API key "
            "env var) and give the URL without them."
        )
    return urlunsplit(parts._replace(path=parts.path.rstrip("/")))


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL, without credentials, path or query (safe to print)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def display_url(url: str) -> str:
    """The URL without credentials or query string (safe for reprs and logs)."""
    return origin(url) + urlsplit(url).path


def endpoint_url(base_url: str, path: str) -> str:
    """``base_url`` + ``path``, keeping a query string (``?api-version=...``) at the end."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + path))


def resolve_endpoint(
    model: str | None,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Endpoint:
    """Resolve a CrewAI model string plus explicit settings and env vars to an endpoint.

    Precedence: explicit arguments, then the provider's env vars, then its default URL. A
    base URL (from anywhere) with ``user:password@`` in it is refused: the key goes in
    ``api_key``.
    """
    env = os.environ if env is None else env
    model = (
        model
        or env.get("MODEL")
        or env.get("MODEL_NAME")
        or env.get("OPENAI_MODEL_NAME")
        or DEFAULT_MODEL
    )
    prefix, sep, rest = model.partition("/")
    if sep and prefix in _UNSUPPORTED:
        raise ConfigurationError(
            f"provider {prefix!r} is not supported yet; point base_url at an "
            "OpenAI-compatible endpoint for it instead."
        )
    provider = PROVIDERS.get(prefix) if sep else None
    name = rest if provider else model
    provider = provider or _OPENAI
    source = "base_url"
    url = base_url
    if not url:
        source = next((name for name in provider.base_env if env.get(name)), "base_url")
        url = env.get(source) or provider.base_url
    if not url:
        raise LLMConfigurationError(
            f"model {model!r} needs a base URL: pass LLM(..., base_url=...) "
            f"or set {' / '.join(provider.base_env)}."
        )
    url = check_url(url, source)
    if provider.api_path and not urlsplit(url).path.endswith(provider.api_path):
        url = endpoint_url(url, provider.api_path)
    key = api_key or _first_env(env, provider.key_env)
    if not key and provider.needs_key and url == provider.base_url:
        raise LLMConfigurationError(
            f"no API key for {provider.name} ({model!r}). Set "
            f"{' or '.join(provider.key_env)}, pass LLM(..., api_key=...), or point "
            "base_url at an OpenAI-compatible server that needs no key "
            "(e.g. `fastcrew sim`)."
        )
    return Endpoint(provider=provider.name, model=name, base_url=url, api_key=key or None)
