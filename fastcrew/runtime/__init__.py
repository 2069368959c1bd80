"""The CrewAI-compatible crew runtime: Agent, Task, Crew, outputs, streaming, kickoffs."""

from .agent import Agent
from .conditional import ConditionalTask
from .crew import Crew
from .for_each import DEFAULT_MAX_CONCURRENCY
from .outputs import CrewOutput, LiteAgentOutput, OutputFormat, TaskOutput, UsageMetrics
from .process import Process
from .streaming import CrewStreamingOutput, StreamChunk, StreamChunkType, ToolCallChunk
from .task import Task

__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "Agent",
    "ConditionalTask",
    "Crew",
    "CrewOutput",
    "CrewStreamingOutput",
    "LiteAgentOutput",
    "OutputFormat",
    "Process",
    "StreamChunk",
    "StreamChunkType",
    "Task",
    "TaskOutput",
    "ToolCallChunk",
    "UsageMetrics",
]
