"""fastcrew: run CrewAI-style crews over large batches as fast as the provider allows.

Public names are loaded on first use, so ``import fastcrew`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Agent": "fastcrew.runtime",
    "AuthenticationError": "fastcrew.errors",
    "BadRequestError": "fastcrew.errors",
    "BaseLLM": "fastcrew.llms",
    "BaseTool": "fastcrew.tools",
    "BatchConfig": "fastcrew.batch",
    "BatchResult": "fastcrew.batch",
    "ChatDelta": "fastcrew.llm",
    "ChatResponse": "fastcrew.llm",
    "ChatStream": "fastcrew.llm",
    "ConditionalTask": "fastcrew.runtime",
    "ConfigurationError": "fastcrew.errors",
    "Crew": "fastcrew.runtime",
    "CrewOutput": "fastcrew.runtime",
    "CrewStreamingOutput": "fastcrew.runtime",
    "ExecutionTimeoutError": "fastcrew.errors",
    "FastCrewError": "fastcrew.errors",
    "Flow": "fastcrew.flow",
    "FlowError": "fastcrew.flow",
    "FlowLimitError": "fastcrew.flow",
    "FlowPersistenceError": "fastcrew.errors",
    "FlowState": "fastcrew.flow",
    "GuardrailError": "fastcrew.errors",
    "InputError": "fastcrew.errors",
    "InputReadError": "fastcrew.errors",
    "Knowledge": "fastcrew.knowledge",
    "LLM": "fastcrew.llm",
    "LLMConfigurationError": "fastcrew.errors",
    "LLMConnectionError": "fastcrew.errors",
    "LLMError": "fastcrew.errors",
    "LLMTimeoutError": "fastcrew.errors",
    "LiteAgentOutput": "fastcrew.runtime",
    "MalformedResponseError": "fastcrew.errors",
    "Memory": "fastcrew.memory",
    "OutputFormat": "fastcrew.runtime",
    "OutputValidationError": "fastcrew.errors",
    "Process": "fastcrew.runtime",
    "ProjectConfigError": "fastcrew.errors",
    "QuotaExhaustedError": "fastcrew.errors",
    "RateLimit": "fastcrew.limits",
    "RateLimitError": "fastcrew.errors",
    "RateLimitSnapshot": "fastcrew.limits",
    "RetryPolicy": "fastcrew.limits",
    "Runtime": "fastcrew.process_runtime",
    "RunningLoopError": "fastcrew.errors",
    "ServerError": "fastcrew.errors",
    "StorageError": "fastcrew.errors",
    "StreamChunk": "fastcrew.runtime",
    "StreamChunkType": "fastcrew.runtime",
    "Task": "fastcrew.runtime",
    "TaskError": "fastcrew.errors",
    "TaskOutput": "fastcrew.runtime",
    "ToolDefinitionError": "fastcrew.errors",
    "UnsupportedFeatureError": "fastcrew.errors",
    "Usage": "fastcrew.llm",
    "UsageMetrics": "fastcrew.runtime",
    "and_": "fastcrew.flow",
    "listen": "fastcrew.flow",
    "or_": "fastcrew.flow",
    "persist": "fastcrew.flow",
    "router": "fastcrew.flow",
    "run_batch": "fastcrew.batch",
    "start": "fastcrew.flow",
    "tool": "fastcrew.tools",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .batch import BatchConfig, BatchResult, run_batch
    from .errors import (
        AuthenticationError,
        BadRequestError,
        ConfigurationError,
        ExecutionTimeoutError,
        FastCrewError,
        FlowPersistenceError,
        GuardrailError,
        InputError,
        InputReadError,
        LLMConfigurationError,
        LLMConnectionError,
        LLMError,
        LLMTimeoutError,
        MalformedResponseError,
        OutputValidationError,
        ProjectConfigError,
        QuotaExhaustedError,
        RateLimitError,
        RunningLoopError,
        ServerError,
        StorageError,
        TaskError,
        ToolDefinitionError,
        UnsupportedFeatureError,
    )
    from .flow import (
        Flow,
        FlowError,
        FlowLimitError,
        FlowState,
        and_,
        listen,
        or_,
        persist,
        router,
        start,
    )
    from .knowledge import Knowledge
    from .limits import RateLimit, RateLimitSnapshot, RetryPolicy
    from .llm import LLM, ChatDelta, ChatResponse, ChatStream, Usage
    from .llms import BaseLLM
    from .memory import Memory
    from .process_runtime import Runtime
    from .runtime import (
        Agent,
        ConditionalTask,
        Crew,
        CrewOutput,
        CrewStreamingOutput,
        LiteAgentOutput,
        OutputFormat,
        Process,
        StreamChunk,
        StreamChunkType,
        Task,
        TaskOutput,
        UsageMetrics,
    )
    from .tools import BaseTool, tool

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
