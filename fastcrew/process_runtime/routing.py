"""Where a process's LLM calls go instead of the endpoint they name: an :class:`LLMRedirect`
(another base URL, ``--simulate``) or a :class:`Deferrer` (``--via batch-api``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Deferrer", "LLMRedirect"]


@dataclass(frozen=True, slots=True)
class LLMRedirect:
    """Send every LLM built while it is set to ``base_url`` (``--simulate``, the bench's
    simulator), with ``api_key`` (None: no key) instead of the provider's. Each keeps its
    wire: OpenAI's ``{base_url}/chat/completions``; ``anthropic/`` Anthropic's Messages
    (``/v1/messages``, ``x-api-key``); ``azure/<deployment>`` Azure's deployment path at
    ``base_url`` less its ``/v1`` (``api-key``; its own ``api-version``, else
    ``AZURE_API_VERSION``, else a default). No provider URL or key is read from the
    environment."""

    base_url: str
    api_key: str | None = None

    def __repr__(self) -> str:
        key = ", api_key='***'" if self.api_key else ""
        return f"LLMRedirect(base_url={self.base_url!r}{key})"


class Deferrer(Protocol):
    """Takes LLM calls instead of the network (``fastcrew batch --via batch-api``)."""

    async def defer(self, url: str, body: bytes) -> tuple[int, bytes]:
        """The answer to the request ``body`` for ``url``: its HTTP status and body."""
        ...
