"""fastcrew: run CrewAI-style crews over large batches as fast as the provider allows.

Public names are loaded on first use, so ``import fastcrew`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AuthenticationError": "fastcrew.errors",
    "BadRequestError": "fastcrew.errors",
    "ChatDelta": "fastcrew.llm",
    "ChatResponse": "fastcrew.llm",
    "ChatStream": "fastcrew.llm",
    "ConfigurationError": "fastcrew.errors",
    "FastCrewError": "fastcrew.errors",
    "LLM": "fastcrew.llm",
    "LLMConnectionError": "fastcrew.errors",
    "LLMError": "fastcrew.errors",
    "LLMTimeoutError": "fastcrew.errors",
    "MalformedResponseError": "fastcrew.errors",
    "QuotaExhaustedError": "fastcrew.errors",
    "RateLimitError": "fastcrew.errors",
    "RateLimitSnapshot": "fastcrew.llm",
    "ServerError": "fastcrew.errors",
    "Usage": "fastcrew.llm",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .errors import (
        AuthenticationError,
        BadRequestError,
        ConfigurationError,
        FastCrewError,
        LLMConnectionError,
        LLMError,
        LLMTimeoutError,
        MalformedResponseError,
        QuotaExhaustedError,
        RateLimitError,
        ServerError,
    )
    from .llm import LLM, ChatDelta, ChatResponse, ChatStream, RateLimitSnapshot, Usage


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fastcrew' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
