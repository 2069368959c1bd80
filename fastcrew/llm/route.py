"""Where an LLM's calls go and how they are signed: the endpoint, the request URL and the
static headers of its wire — OpenAI's chat completions, Azure OpenAI's deployment path
(:mod:`fastcrew.llm.azure`) or Anthropic's Messages API (:mod:`fastcrew.llm.anthropic`).

Under an :class:`~fastcrew.process_runtime.LLMRedirect` (``--simulate``) each LLM keeps its
wire but goes to the redirect's base URL with the redirect's key only: no provider key or
URL is read from the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..process_runtime import LLMRedirect
from . import anthropic
from .azure import AzureAuth, TokenProvider, azure_version, is_azure, resolve_azure
from .providers import Endpoint, display_url, endpoint_url, resolve_endpoint

__all__ = ["Route", "route"]

_MODEL_ENV = ("MODEL", "MODEL_NAME", "OPENAI_MODEL_NAME")
_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "User-Agent": "fastcrew",
}


@dataclass(frozen=True, slots=True)
class Route:
    """An LLM's wire. ``model``: the model string the LLM reports (``azure/<deployment>``
    for Azure; None: the endpoint's); ``budget_where``: the endpoint its budget is keyed by
    (with the key's hash) — the full path for Azure (quota per deployment) and Anthropic."""

    endpoint: Endpoint
    model: str | None
    url: str
    headers: dict[str, str]
    budget_where: str
    api_version: str | None = None
    azure: AzureAuth | None = None
    anthropic: bool = False


def route(
    model: str | None,
    *,
    base_url: str | None,
    api_key: str | None,
    api_version: str | None,
    token_provider: TokenProvider | None,
    redirect: LLMRedirect | None,
    env: Mapping[str, str],
) -> Route:
    """The :class:`Route` of ``model`` as configured (arguments, else the provider's env)."""
    if is_azure(model, env):
        endpoint, url, auth = resolve_azure(
            model,
            base_url=base_url,
            api_key=api_key,
            api_version=api_version,
            token_provider=token_provider,
            env=env,
            redirect=redirect,
        )
        headers = {**_HEADERS, **auth.static_headers()}
        version = azure_version(api_version, env, redirect is not None)
        # priced only by name (docs/cost.md)
        return Route(
            endpoint, f"azure/{endpoint.model}", url, headers, display_url(url), version, auth
        )
    if redirect is None:
        endpoint = resolve_endpoint(model, base_url=base_url, api_key=api_key)
    else:
        model_env = {k: v for k, v in env.items() if k in _MODEL_ENV}
        endpoint = resolve_endpoint(
            model, base_url=redirect.base_url, api_key=redirect.api_key, env=model_env
        )
    key = endpoint.api_key
    if endpoint.provider == "anthropic":
        url = anthropic.messages_url(endpoint.base_url)
        headers = {**_HEADERS, **anthropic.anthropic_headers(key)}
        return Route(endpoint, model, url, headers, display_url(url), anthropic=True)
    headers = {**_HEADERS, "Authorization": f"Bearer {key}"} if key else dict(_HEADERS)
    url = endpoint_url(endpoint.base_url, "/chat/completions")
    return Route(endpoint, model, url, headers, endpoint.base_url)
