"""CrewAI's ``embedder=`` dicts → where and how to send an embeddings request.

``{"provider": "openai" | "ollama" | "azure", "config": {...}}`` with CrewAI's field names
(``model`` / ``model_name``, ``api_key``, ``api_base`` / ``base_url``, ``url``,
``deployment_id``, ``api_version``, ``dimensions``) and CrewAI's env fallbacks
(``EMBEDDINGS_OPENAI_*``, ``OPENAI_API_KEY``, ``EMBEDDINGS_OLLAMA_*``, ``OLLAMA_*``), plus the
``AZURE_*`` variables fastcrew's Azure LLMs read. Every provider is spoken over OpenAI's
embeddings wire: Ollama through its OpenAI-compatible ``/v1/embeddings`` (CrewAI's default
``url``, Ollama's native ``/api/embeddings``, is mapped to it on the same server).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from ..errors import ConfigurationError
from ..llm.providers import check_url, display_url, endpoint_url
from ..process_runtime import LLMRedirect

__all__ = [
    "DEFAULT_AZURE_API_VERSION",
    "DEFAULT_OLLAMA_URL",
    "DEFAULT_OPENAI_MODEL",
    "PROVIDERS",
    "EmbedderConfig",
    "ProviderName",
    "embedder_config",
]

ProviderName = Literal["openai", "ollama", "azure"]
PROVIDERS: tuple[ProviderName, ...] = ("openai", "ollama", "azure")
DEFAULT_OPENAI_MODEL = "text-embedding-3-small"
DEFAULT_OPENAI_BASE = "https://api.openai.com/v1"
DEFAULT_OLLAMA_URL = "http://localhost:11434/api/embeddings"
"""CrewAI's default Ollama ``url`` (its native API; requests go to ``/v1/embeddings``)."""
DEFAULT_AZURE_API_VERSION = "2024-02-01"
"""CrewAI's default ``api_version`` for Azure embeddings."""
_OLLAMA_NATIVE = ("/api/embeddings", "/api/embed")
_WHERE_AND_WHO = ("_KEY", "_BASE", "_URL", "_ENDPOINT")
"""Env vars a redirect does not read: URLs and keys (models, versions, dimensions still count)."""


@dataclass(frozen=True, slots=True)
class EmbedderConfig:
    """One embeddings endpoint: ``url`` (the whole request URL), the ``model`` sent, the
    ``dimensions`` asked for (None: the model's own), the key and how it is sent, and whether
    vectors are asked for as base64 (OpenAI, Azure) or plain floats (Ollama)."""

    provider: ProviderName
    model: str
    url: str
    api_key: str | None = field(default=None, repr=False)
    dimensions: int | None = None
    key_header: Literal["Authorization", "api-key"] = "Authorization"
    base64: bool = True

    def __repr__(self) -> str:
        key = ", api_key='***'" if self.api_key else ""
        dims = f", dimensions={self.dimensions}" if self.dimensions else ""
        return (
            f"EmbedderConfig(provider={self.provider!r}, model={self.model!r}, "
            f"url={display_url(self.url)!r}{dims}{key})"
        )

    @property
    def endpoint(self) -> str:
        """The URL without credentials or query (``api-version``): part of the cache key."""
        return display_url(self.url)

    @property
    def space(self) -> str:
        """What makes two vectors comparable: the endpoint, the model and the dimensions
        (the prefix of every content key; a vector table per space)."""
        return f"{self.endpoint}\0{self.model}\0{self.dimensions or 0}"

    @property
    def space_digest(self) -> str:
        """A short name for :attr:`space` (12 hex digits), for table names."""
        return hashlib.sha256(self.space.encode()).hexdigest()[:12]

    def headers(self) -> dict[str, str]:
        """The request headers (the key as ``Authorization: Bearer`` or Azure's ``api-key``)."""
        headers = {"Content-Type": "application/json", "User-Agent": "fastcrew"}
        if self.api_key:
            bearer = self.key_header == "Authorization"
            headers[self.key_header] = f"Bearer {self.api_key}" if bearer else self.api_key
        return headers


def embedder_config(
    embedder: Mapping[str, Any] | EmbedderConfig | None = None,
    *,
    env: Mapping[str, str] | None = None,
    redirect: LLMRedirect | None = None,
) -> EmbedderConfig:
    """Resolve CrewAI's ``embedder=`` dict (None: OpenAI's ``text-embedding-3-small``).

    Settings in ``config`` come first, then the env vars CrewAI reads. A ``redirect``
    (``--simulate``) keeps the provider's wire but sends it to the redirect's base URL with
    its key, reading no URL or key from the environment. A missing setting or an unknown
    provider is a :class:`~fastcrew.errors.ConfigurationError` naming what to set.
    """
    if isinstance(embedder, EmbedderConfig):
        return embedder
    env = os.environ if env is None else env
    spec = dict(embedder or {"provider": "openai"})
    provider = spec.get("provider")
    config = spec.get("config") or {}
    if not isinstance(config, Mapping):
        raise ConfigurationError("embedder 'config' must be a dict of settings")
    if redirect is not None:
        env = {k: v for k, v in env.items() if not k.endswith(_WHERE_AND_WHO)}
    if provider == "openai":
        return _openai(config, env, redirect)
    if provider == "ollama":
        return _ollama(config, env, redirect)
    if provider == "azure":
        return _azure(config, env, redirect)
    raise ConfigurationError(
        f"embedder provider {provider!r} is not supported; use one of "
        f"{', '.join(map(repr, PROVIDERS))} (any OpenAI-compatible server: 'openai' with "
        "config api_base='http://host:port/v1')"
    )


def _setting(
    config: Mapping[str, Any], keys: tuple[str, ...], env: Mapping[str, str], names: tuple[str, ...]
) -> Any:
    """The first of ``config[keys]``, then of ``env[names]``, that is set (None if none)."""
    for key in keys:
        if config.get(key) not in (None, ""):
            return config[key]
    return next((env[name] for name in names if env.get(name)), None)


def _needs(provider: str, what: str, keys: tuple[str, ...], names: tuple[str, ...]) -> str:
    config = " or ".join(f"config {key!r}" for key in keys)
    return f"embedder provider {provider!r} needs {what}: set {config}, or {' / '.join(names)}"


def _dimensions(value: Any) -> int | None:
    if value is None:
        return None
    try:
        dims = int(value)
    except (TypeError, ValueError):
        dims = 0
    if isinstance(value, bool) or dims <= 0 or str(dims) != str(value).strip():
        raise ConfigurationError(f"embedder 'dimensions' must be a positive integer, got {value!r}")
    return dims


_OPENAI_KEY = ("EMBEDDINGS_OPENAI_API_KEY", "OPENAI_API_KEY")
_OPENAI_DIMS = ("EMBEDDINGS_OPENAI_DIMENSIONS", "OPENAI_DIMENSIONS")


def _openai(
    config: Mapping[str, Any], env: Mapping[str, str], redirect: LLMRedirect | None
) -> EmbedderConfig:
    model = _setting(config, ("model", "model_name"), env, ("EMBEDDINGS_OPENAI_MODEL_NAME",))
    names = ("EMBEDDINGS_OPENAI_API_BASE", "OPENAI_API_BASE", "OPENAI_BASE_URL")
    base = redirect.base_url if redirect else _setting(config, ("api_base", "base_url"), env, names)
    key = redirect.api_key if redirect else _setting(config, ("api_key",), env, _OPENAI_KEY)
    if not key and not base:
        raise ConfigurationError(_needs("openai", "an API key", ("api_key",), _OPENAI_KEY))
    url = endpoint_url(
        check_url(str(base or DEFAULT_OPENAI_BASE), "embedder api_base"), "/embeddings"
    )
    dims = _dimensions(_setting(config, ("dimensions",), env, _OPENAI_DIMS))
    return EmbedderConfig("openai", str(model or DEFAULT_OPENAI_MODEL), url, key or None, dims)


def _ollama(
    config: Mapping[str, Any], env: Mapping[str, str], redirect: LLMRedirect | None
) -> EmbedderConfig:
    names = ("EMBEDDINGS_OLLAMA_MODEL_NAME", "OLLAMA_MODEL_NAME", "OLLAMA_MODEL")
    model = _setting(config, ("model", "model_name"), env, names)
    if not model:
        raise ConfigurationError(_needs("ollama", "a model", ("model",), names))
    where = ("EMBEDDINGS_OLLAMA_URL", "OLLAMA_URL")
    url = redirect.base_url if redirect else _setting(config, ("url", "api_base"), env, where)
    key = redirect.api_key if redirect else None
    url = _ollama_url(str(url or DEFAULT_OLLAMA_URL))
    dims = _dimensions(config.get("dimensions"))
    return EmbedderConfig("ollama", str(model), url, key, dims, base64=False)


def _ollama_url(url: str) -> str:
    """Ollama's OpenAI-compatible ``/v1/embeddings`` on the server ``url`` names (its native
    ``/api/embeddings`` or ``/api/embed``, the bare server, ``/v1`` or the whole path)."""
    parts = urlsplit(check_url(url, "embedder url"))
    path = parts.path
    for native in _OLLAMA_NATIVE:
        path = path.removesuffix(native)
    path = path.removesuffix("/embeddings").removesuffix("/v1")
    return urlunsplit(parts._replace(path=path + "/v1/embeddings", query=""))


_AZURE_KEY = (
    "EMBEDDINGS_OPENAI_API_KEY",
    "AZURE_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_KEY",
)
_AZURE_BASE = (
    "EMBEDDINGS_OPENAI_API_BASE",
    "AZURE_API_BASE",
    "AZURE_OPENAI_ENDPOINT",
    "OPENAI_API_BASE",
)
_AZURE_DEPLOYMENT = (
    "EMBEDDINGS_OPENAI_DEPLOYMENT_ID",
    "AZURE_OPENAI_DEPLOYMENT",
    "AZURE_DEPLOYMENT_ID",
)
_AZURE_VERSION = (
    "EMBEDDINGS_OPENAI_API_VERSION",
    "AZURE_API_VERSION",
    "AZURE_OPENAI_API_VERSION",
    "OPENAI_API_VERSION",
)
_AZURE_DIMS = ("EMBEDDINGS_OPENAI_DIMENSIONS", "AZURE_OPENAI_DIMENSIONS")


def _azure(
    config: Mapping[str, Any], env: Mapping[str, str], redirect: LLMRedirect | None
) -> EmbedderConfig:
    deployment = _setting(config, ("deployment_id", "model", "model_name"), env, _AZURE_DEPLOYMENT)
    if redirect is not None:
        base, key = redirect.base_url.rstrip("/").removesuffix("/v1"), redirect.api_key
    else:
        base = _setting(config, ("api_base", "base_url"), env, _AZURE_BASE)
        key = _setting(config, ("api_key",), env, _AZURE_KEY)
    missing = [
        _needs("azure", what, keys, names)
        for what, have, keys, names in (
            ("a deployment", deployment, ("deployment_id", "model"), _AZURE_DEPLOYMENT),
            ("a resource URL", base, ("api_base",), _AZURE_BASE),
            ("an API key", key or redirect, ("api_key",), _AZURE_KEY),
        )
        if not have
    ]
    if missing:
        raise ConfigurationError("; ".join(missing))
    version = _setting(config, ("api_version",), env, _AZURE_VERSION) or DEFAULT_AZURE_API_VERSION
    url = check_url(str(base), "embedder api_base").removesuffix("/openai")
    path = f"/openai/deployments/{quote(str(deployment), safe='')}/embeddings"
    full = endpoint_url(url, path) + "?" + urlencode({"api-version": version})
    model = str(config.get("model_name") or config.get("model") or deployment)
    dims = _dimensions(_setting(config, ("dimensions",), env, _AZURE_DIMS))
    return EmbedderConfig("azure", model, full, key or None, dims, key_header="api-key")
