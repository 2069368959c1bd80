"""Azure OpenAI: ``LLM("azure/<deployment>")`` on Azure's deployment path.

``POST {base}/openai/deployments/{deployment}/chat/completions?api-version={version}`` with
the key in ``api-key`` (never ``Authorization``), or an Entra ID token from
``azure_ad_token_provider`` in ``Authorization: Bearer``, fetched for every request (token
providers cache their own tokens). Settings come from arguments, else CrewAI's env vars
``AZURE_API_BASE`` / ``AZURE_API_KEY`` / ``AZURE_API_VERSION``. The body is OpenAI's, with
the deployment as its ``model`` (as ``openai.AzureOpenAI`` sends it; Azure ignores it).
Under an :class:`~fastcrew.process_runtime.LLMRedirect` (``--simulate``) the same path goes
to the redirect's base URL, with the redirect's key as ``api-key``; no ``AZURE_*`` setting
but the version is read, and the version defaults to :data:`DEFAULT_API_VERSION`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode, urlsplit

from ..errors import LLMConfigurationError
from .providers import Endpoint, check_url, endpoint_url

if TYPE_CHECKING:
    from ..process_runtime.routing import LLMRedirect

__all__ = ["AZURE_PREFIX", "DEFAULT_API_VERSION", "AzureAuth", "TokenProvider", "azure_version",
           "is_azure", "resolve_azure"]  # fmt: skip

AZURE_PREFIX = "azure/"
DEFAULT_API_VERSION = "2024-10-21"
"""The ``api-version`` of a redirected Azure LLM that names none (a GA version)."""
TokenProvider = Callable[[], "str | Awaitable[str]"]
_MODEL_ENV = ("MODEL", "MODEL_NAME", "OPENAI_MODEL_NAME")


def is_azure(model: str | None, env: Mapping[str, str]) -> bool:
    """Whether the model string (given, else from ``MODEL`` / ...) names an Azure deployment."""
    if model is None:
        model = next((env[name] for name in _MODEL_ENV if env.get(name)), None)
    return bool(model and model.startswith(AZURE_PREFIX))


@dataclass(frozen=True, slots=True)
class AzureAuth:
    """How one Azure LLM authenticates: its ``api-key``, or a token provider per request."""

    api_key: str | None
    token_provider: TokenProvider | None

    def __repr__(self) -> str:
        return "AzureAuth(***)"

    def static_headers(self) -> dict[str, str]:
        """The auth headers that never change (the ``api-key``; none with a token provider)."""
        if self.token_provider is None and self.api_key:
            return {"api-key": self.api_key}
        return {}

    async def headers(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` plus ``Authorization: Bearer <token>`` from the token provider."""
        if self.token_provider is None:
            return dict(base)
        token = self.token_provider()
        if inspect.isawaitable(token):
            token = await token
        if not isinstance(token, str) or not token:
            raise LLMConfigurationError("azure_ad_token_provider must return a token string")
        return {**base, "Authorization": f"Bearer {token}"}


def azure_version(api_version: str | None, env: Mapping[str, str], redirected: bool) -> str | None:
    """The ``api-version`` an Azure LLM sends: its own, else ``AZURE_API_VERSION``, else
    (redirected only) :data:`DEFAULT_API_VERSION`."""
    version = api_version or env.get("AZURE_API_VERSION")
    return version or (DEFAULT_API_VERSION if redirected else None)


def resolve_azure(
    model: str | None,
    *,
    base_url: str | None,
    api_key: str | None,
    api_version: str | None,
    token_provider: TokenProvider | None,
    env: Mapping[str, str],
    redirect: LLMRedirect | None = None,
) -> tuple[Endpoint, str, AzureAuth]:
    """(the endpoint, the full request URL, the auth) of an ``azure/<deployment>`` model;
    :class:`~fastcrew.errors.LLMConfigurationError` naming the env var of anything missing.
    With a ``redirect``: its base URL (less a trailing ``/v1``) and key, no token provider."""
    if model is None:
        model = next(env[name] for name in _MODEL_ENV if env.get(name))
    deployment = model.removeprefix(AZURE_PREFIX)
    if not deployment:
        raise LLMConfigurationError(f"model {model!r} names no deployment: 'azure/<deployment>'")
    version = azure_version(api_version, env, redirect is not None)
    if redirect is not None:
        base = redirect.base_url.rstrip("/").removesuffix("/v1")
        auth = AzureAuth(redirect.api_key, None)
        return _deployment_url(base, "redirect base_url", deployment, version, auth)
    source = "base_url" if base_url else "AZURE_API_BASE"
    url = base_url or env.get("AZURE_API_BASE")
    key = api_key or env.get("AZURE_API_KEY")
    missing = [
        need
        for need, have in (
            ("base_url= or AZURE_API_BASE", url),
            ("api_version= or AZURE_API_VERSION", version),
            ("api_key= or AZURE_API_KEY (or azure_ad_token_provider=)", key or token_provider),
        )
        if not have
    ]
    if missing:
        raise LLMConfigurationError(
            f"Azure model {model!r} needs " + "; ".join(missing) + " (e.g. AZURE_API_BASE="
            "'https://myres.openai.azure.com', AZURE_API_VERSION='2024-10-21')."
        )
    assert url is not None
    return _deployment_url(url, source, deployment, version, AzureAuth(key or None, token_provider))


def _deployment_url(
    url: str, source: str, deployment: str, version: str | None, auth: AzureAuth
) -> tuple[Endpoint, str, AzureAuth]:
    """:func:`resolve_azure`'s answer for a checked deployment on resource URL ``url``."""
    assert version is not None
    url = check_url(url, source)
    if urlsplit(url).path.endswith("/openai"):  # the SDK's azure_endpoint + '/openai'
        url = url.removesuffix("/openai")
    path = f"/openai/deployments/{quote(deployment, safe='')}/chat/completions"
    full = endpoint_url(url, path) + "?" + urlencode({"api-version": version})
    endpoint = Endpoint(provider="azure", model=deployment, base_url=url, api_key=auth.api_key)
    return endpoint, full, auth
