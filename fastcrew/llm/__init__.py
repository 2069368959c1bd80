"""The LLM layer: CrewAI-style ``LLM`` over an OpenAI-compatible wire, aiohttp underneath."""

from .client import DEFAULT_TIMEOUT, LLM, ChatStream
from .meter import UsageMeter, metered
from .transport import close_session
from .types import ChatDelta, ChatResponse, RateLimitSnapshot, ToolCall, Usage

__all__ = [
    "DEFAULT_TIMEOUT",
    "LLM",
    "ChatDelta",
    "ChatResponse",
    "ChatStream",
    "RateLimitSnapshot",
    "ToolCall",
    "Usage",
    "UsageMeter",
    "close_session",
    "metered",
]
