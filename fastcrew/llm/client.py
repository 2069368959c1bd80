"""``LLM``: a CrewAI-style LLM object that talks to any OpenAI-compatible endpoint."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

from .._json import dumps
from ..errors import ConfigurationError
from ..limits import Limiter, RateLimit, RetryPolicy
from ..process_runtime import budget_key, get_runtime
from . import anthropic as native
from .azure import AzureAuth, TokenProvider
from .cost import CallPricer
from .crewai_calls import CrewAICalls
from .meter import record_usage
from .providers import display_url, origin
from .retrying import send_with_retries
from .route import route
from .stream import ChatStream
from .transport import AiohttpTransport, HttpxTransport, Transport
from .types import ChatResponse
from .usage import TokenCounter, UsageMetrics
from .wire import (
    Messages,
    error_from_response,
    normalize_messages,
    parse_completion,
    response_format_to_wire,
)

if TYPE_CHECKING:
    import httpx

    from ..cache import ResponseCache
    from ..limits.config import Charge
    from ..pricing import Price
    from .cached import CacheSpec


__all__ = ["DEFAULT_COMPLETION_ESTIMATE", "DEFAULT_TIMEOUT", "LLM", "ChatStream"]


DEFAULT_TIMEOUT = 120.0
DEFAULT_COMPLETION_ESTIMATE = 256
"""Tokens reserved for an answer when max_tokens is unset and no answer has been seen yet."""
DEFAULT_RETRY = RetryPolicy()


class _BodyField:
    """A CrewAI attribute (``llm.seed``) for a body field kept in ``provider_kwargs``."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else obj.provider_kwargs.get(self.name)


class LLM(CrewAICalls):
    """A chat model on an OpenAI-compatible endpoint.

    ``model`` takes CrewAI's strings (``"gpt-4.1-mini"``, ``"openai/gpt-4o-mini"``,
    ``"ollama/llama3.1"``, ``"hosted_vllm/<name>"``); ``base_url`` (alias ``api_base``) points
    it anywhere. Keys and URLs fall back to the provider's env vars (``OPENAI_API_KEY``,
    ``OPENAI_BASE_URL`` / ``OPENAI_API_BASE``; ``MODEL`` / ``MODEL_NAME`` /
    ``OPENAI_MODEL_NAME`` for the model, else CrewAI's default ``gpt-4.1-mini``).
    ``top_p``, ``stop``, ``seed``, ... and any other keyword argument go into every request.
    ``"azure/<deployment>"`` is Azure OpenAI (``AZURE_API_BASE`` / ``AZURE_API_KEY`` /
    ``AZURE_API_VERSION``, or ``base_url`` / ``api_key`` / ``api_version``, or an Entra ID
    ``azure_ad_token_provider``; :mod:`fastcrew.llm.azure`); ``"anthropic/<model>"``
    Anthropic's Messages API (``ANTHROPIC_API_KEY``; :mod:`fastcrew.llm.anthropic`).

    :meth:`call` / :meth:`acall` are CrewAI's: they return the text (or the validated model,
    or a tool's result). :meth:`chat` / :meth:`achat` return the whole :class:`ChatResponse`
    (usage, finish reason, tool calls, rate-limit headers) or a :class:`ChatStream`.
    Pass ``http_client=httpx.AsyncClient(...)`` to send through httpx instead of aiohttp.
    ``supports_function_calling=False`` makes agents use the ReAct text format for tools
    instead of native tool calls. ``price`` (a :class:`~fastcrew.pricing.Price` or
    ``"IN/OUT[/CACHED]"`` in USD per million tokens) prices this LLM's calls, over the
    process's prices (docs/cost.md); every answer's ``usage.cost_usd`` is its cost.
    ``cache`` (a file path or a :class:`~fastcrew.cache.ResponseCache`; default: the process
    runtime's ``cache``, else none) answers a request seen before from the stored answer:
    no request, no rate budget, cost 0 (docs/cache.md).

    Every call passes the budget shared by all LLMs with the same endpoint and key
    (``rate_limit``, default: the process default, which learns the provider's limits from
    its headers) and one retry layer (``retry``). The API key never appears in a repr, log
    line or error message.
    """

    seed = _BodyField()
    n = _BodyField()
    frequency_penalty = _BodyField()
    presence_penalty = _BodyField()
    logprobs = _BodyField()
    top_logprobs = _BodyField()
    reasoning_effort = _BodyField()

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_base: str | None = None,
        api_key: str | None = None,
        api_version: str | None = None,
        azure_ad_token_provider: TokenProvider | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        max_completion_tokens: int | None = None,
        stop: str | list[str] | None = None,
        stream: bool = False,
        response_format: Any = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        http_client: httpx.AsyncClient | None = None,
        rate_limit: RateLimit | None = None,
        retry: RetryPolicy | None = None,
        max_retries: int | None = None,
        supports_function_calling: bool | None = None,
        price: Price | str | None = None,
        cache: str | os.PathLike[str] | ResponseCache | None = None,
        **provider_kwargs: Any,
    ) -> None:
        wire = route(
            model,
            base_url=base_url or api_base,
            api_key=api_key,
            api_version=api_version,
            token_provider=azure_ad_token_provider,
            redirect=get_runtime().redirect,
            env=os.environ,
        )
        endpoint = wire.endpoint
        model = wire.model
        self.api_version = wire.api_version or api_version
        self._azure: AzureAuth | None = wire.azure
        self._anthropic = wire.anthropic  # llm/anthropic.py
        self.model: str = model or endpoint.model
        self.provider: str = endpoint.provider
        self.model_name: str = endpoint.model
        self.base_url: str = endpoint.base_url
        self.temperature = temperature
        self.top_p = top_p
        self.max_tokens = max_tokens
        self.max_completion_tokens = max_completion_tokens
        self.stop: list[str] = [stop] if isinstance(stop, str) else list(stop or ())
        self.stream = stream
        self.response_format = response_format
        if timeout is not None and timeout <= 0:
            raise ConfigurationError("LLM timeout must be a positive number of seconds or None")
        self.timeout: float | None = timeout
        provider_kwargs.pop("is_litellm", None)  # CrewAI's routing switch: one path here
        self.callbacks: list[Any] = list(provider_kwargs.pop("callbacks", None) or ())
        self.provider_kwargs: dict[str, Any] = dict(provider_kwargs)
        self.additional_params = self.provider_kwargs  # CrewAI's name for the extra fields
        self.rate_limit = rate_limit
        if retry is None and max_retries is not None:  # CrewAI's (the openai SDK's) setting
            retry = RetryPolicy(max_attempts=max_retries + 1)
        self.retry = retry or DEFAULT_RETRY
        self._function_calling = supports_function_calling
        self._api_key = endpoint.api_key
        self._url = wire.url
        self._budget_key = budget_key(wire.budget_where, self._api_key)
        self._usage = TokenCounter()
        self._pricer = CallPricer(self.model, price)
        self._cache: CacheSpec | None = None
        if cache is not None:
            from .cached import check_spec

            self._cache = check_spec(cache)
        self._headers = wire.headers
        self._base_body: dict[str, Any] = {"model": self.model_name}
        if temperature is not None:
            self._base_body["temperature"] = temperature
        if top_p is not None:
            self._base_body["top_p"] = top_p
        if max_tokens is not None:
            self._base_body["max_tokens"] = max_tokens
        if max_completion_tokens is not None:
            self._base_body["max_completion_tokens"] = max_completion_tokens
        if self.stop and self.supports_stop_words():
            self._base_body["stop"] = self.stop
        self._base_body.update(provider_kwargs)
        where = origin(self.base_url)
        self._transport: Transport = (
            HttpxTransport(http_client, where, self.timeout)
            if http_client is not None
            else AiohttpTransport(where, self.timeout)
        )

    def __repr__(self) -> str:
        key = ", api_key='***'" if self._api_key else ""
        return f"LLM(model={self.model!r}, base_url={display_url(self.base_url)!r}{key})"

    def __reduce__(self) -> tuple[Any, ...]:
        if isinstance(self._transport, HttpxTransport):
            raise TypeError("an LLM with a custom http_client cannot be pickled")
        kwargs = {
            "base_url": self.base_url,
            "api_key": self._api_key,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "max_completion_tokens": self.max_completion_tokens,
            "stop": self.stop,
            "stream": self.stream,
            "response_format": self.response_format,
            "timeout": self.timeout,
            "rate_limit": self.rate_limit,
            "retry": self.retry,
            "supports_function_calling": self._function_calling,
            "price": self.price,
            "cache": self._cache,
            **self.provider_kwargs,
        }
        if self._azure is not None:
            kwargs["api_version"] = self.api_version
            kwargs["azure_ad_token_provider"] = self._azure.token_provider
        return (_rebuild_llm, (self.model, kwargs))

    @property
    def price(self) -> Price | None:
        """This LLM's own price (``LLM(price=...)``), None when the process's prices apply."""
        return self._pricer.price

    @property
    def has_api_key(self) -> bool:
        """Whether a key is sent."""
        return self._api_key is not None

    @property
    def api_key(self) -> str | None:
        """The key sent (CrewAI's attribute); never part of the repr, a log line or an error."""
        return self._api_key

    def get_token_usage_summary(self) -> UsageMetrics:
        """Token usage of every successful call made through this LLM object (CrewAI's
        ``UsageMetrics``: cumulative, across every agent and crew sharing it)."""
        return UsageMetrics(**self._usage.summary())

    def _body(
        self, messages: Messages, response_format: Any, stream: bool, overrides: Mapping[str, Any]
    ) -> dict[str, Any]:
        body = {**self._base_body, "messages": normalize_messages(messages)}
        if overrides:
            body.update(overrides)
        if response_format is not None:
            body["response_format"] = response_format_to_wire(response_format)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    @overload
    async def achat(
        self,
        messages: Messages,
        *,
        response_format: Any = ...,
        stream: Literal[False] = ...,
        **overrides: Any,
    ) -> ChatResponse: ...

    @overload
    async def achat(
        self,
        messages: Messages,
        *,
        response_format: Any = ...,
        stream: Literal[True],
        **overrides: Any,
    ) -> ChatStream: ...

    async def achat(
        self,
        messages: Messages,
        *,
        response_format: Any = None,
        stream: bool = False,
        **overrides: Any,
    ) -> ChatResponse | ChatStream:
        """Send one chat completion; the whole answer (fastcrew's API, under CrewAI's
        :meth:`acall`).

        ``messages`` is a string (one user message) or OpenAI message dicts;
        ``response_format`` a wire dict or a pydantic model class (→ ``json_schema``; default:
        the LLM's own ``response_format``); ``overrides`` replace body fields for this call
        (``tools``, ``tool_choice``, ``max_tokens``, ...). With ``stream=True`` the answer is
        a :class:`ChatStream` (HTTP errors are raised here, before it is returned).
        """
        if response_format is None:
            response_format = self.response_format
        payload = self._body(messages, response_format, stream, overrides)
        if self._anthropic:  # sent, cached and counted as the Messages body
            payload = native.to_messages(payload)
        # The response cache (docs/cache.md): a hit is answered here, before the limiter —
        # no rate budget, no request; a miss is stored once answered.
        cache = key = None
        if self._cache is not None or get_runtime().cache is not None:
            from .cached import answer_hit, look_up

            cache, key, stored = look_up(self._cache, self._url, payload)
            if stored is not None:
                return answer_hit(
                    stored, stream, self._pricer, self._api_key, self._count_hit, self._anthropic
                )
        body = dumps(payload)
        deferrer = get_runtime().deferrer
        if deferrer is not None and not self._anthropic:  # --via batch-api: the supervisor sends it
            from .deferred import answer_deferred

            return await answer_deferred(self, deferrer, body, stream)
        limiter = self.limiter()
        # Reserve what the provider charges at admission: the prompt (bytes / 4, settled to
        # the reported prompt tokens) plus the answer allowance (max_tokens, else its default).
        allowance = _answer_limit(self._base_body, overrides) or (
            native.DEFAULT_MAX_TOKENS  # always sent, and charged at admission
            if self._anthropic
            else limiter.completion_estimate(DEFAULT_COMPLETION_ESTIMATE)
        )
        estimate = len(body) // 4 + allowance
        return await send_with_retries(
            self, limiter, body, estimate, allowance, stream, cache, key, payload.get("n")
        )

    def limiter(self) -> Limiter:
        """The running loop's limiter for this LLM's budget (endpoint and key)."""
        # Anthropic counts the answer as generated, not as max_tokens (refunded at its end).
        charge: Charge | None = "usage" if self._anthropic else None
        return get_runtime().limiter(self._budget_key, self.rate_limit, charge)

    async def _request_headers(self) -> dict[str, str]:
        """The headers of one request (with a fresh Entra ID token for Azure's provider)."""
        if self._azure is None:
            return self._headers
        return await self._azure.headers(self._headers)

    async def _post(self, body: bytes) -> ChatResponse:
        resp = await self._transport.post(self._url, body, await self._request_headers())
        error, parse = _ANTHROPIC_WIRE if self._anthropic else _OPENAI_WIRE
        if resp.status >= 300:
            raise error(resp.status, resp.body, resp.headers, self._api_key)
        answer = parse(resp.body, resp.headers)
        answer.usage = self._pricer(answer.usage, answer.model)
        return answer

    def _count_hit(self, resp: ChatResponse) -> None:
        """Count an answer from the response cache (docs/cache.md)."""
        record_usage(resp)
        self._usage.add(resp.usage, "hit", resp.saved_usd)

    def chat(
        self, messages: Messages, *, response_format: Any = None, **overrides: Any
    ) -> ChatResponse:
        """Synchronous :meth:`achat` (not streaming); refuses inside a running event loop."""
        return get_runtime().run(
            self.achat(messages, response_format=response_format, **overrides),
            api="LLM.chat",
            async_api="LLM.achat",
        )


_OPENAI_WIRE = (error_from_response, parse_completion)
_ANTHROPIC_WIRE = (native.anthropic_error, native.parse_message)


def _answer_limit(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> int | None:
    """The request's own answer limit: the larger of ``max_tokens`` and
    ``max_completion_tokens`` as sent (None when neither is set)."""
    limits = [
        value
        for name in ("max_tokens", "max_completion_tokens")
        if isinstance(value := overrides.get(name, base.get(name)), int) and value > 0
    ]
    return max(limits) if limits else None


def _rebuild_llm(model: str, kwargs: dict[str, Any]) -> LLM:
    return LLM(model, **kwargs)
