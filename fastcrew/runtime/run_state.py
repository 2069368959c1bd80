"""Per-run state: the inputs, token usage and stream of one kickoff. Templates never hold it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..limits import Limiter
from ..llm.types import ChatResponse
from ..process_runtime import UsageMeter, get_runtime
from .outputs import UsageMetrics, fast_model
from .prompts import agent_system_prompt
from .rendering import render
from .streaming import Emit, StreamChunk, StreamChunkType, ToolCallChunk

if TYPE_CHECKING:
    from .agent import Agent
    from .trace import Trace

__all__ = ["Meta", "Run"]


_system_prompts: dict[tuple[str, str, str], str] = {}
_MAX_CACHED = 1024


def _system_prompt(role: str, goal: str, backstory: str) -> str:
    """The system prompt, shared between runs when the agent's text does not change."""
    key = (role, goal, backstory)
    found = _system_prompts.get(key)
    if found is None:
        if len(_system_prompts) >= _MAX_CACHED:
            _system_prompts.clear()
        found = _system_prompts[key] = agent_system_prompt(role, goal, backstory)
    return found


class Run:
    """The state of one kickoff: its inputs, its token usage, where its chunks go."""

    __slots__ = (
        "_systems",
        "agents",
        "caps",
        "crew",
        "emit",
        "input_index",
        "inputs",
        "manager",
        "meter",
        "tool_state",
        "trace",
    )

    def __init__(
        self,
        inputs: Mapping[str, Any],
        *,
        emit: Emit | None = None,
        input_index: int | None = None,
        caps: tuple[Limiter, ...] = (),
        agents: tuple[Agent, ...] = (),
        manager: Agent | None = None,
        crew: Any = None,
    ) -> None:
        self.inputs = inputs
        self.emit = emit
        self.input_index = input_index
        self.caps = caps
        self.agents = agents
        """The crew's agents (coworkers for delegation)."""
        self.manager = manager
        """A hierarchical crew's manager: it runs every task."""
        self.crew = crew
        """The crew that runs (None: a direct ``Agent.kickoff``)."""
        self.meter = UsageMeter()
        """This run's successful calls and tokens (the LLM client's one way of counting)."""
        self.tool_state: Any = None
        """The run's tool cache and counters (``fastcrew.tools.ToolRunState``), made on the
        first tool call."""
        self._systems: dict[int, tuple[str, str]] = {}
        self.trace: Trace | None = None
        """The crew's ``verbose=True`` trace (agents' own ``verbose`` make theirs)."""

    def caps_for(self, agent: Agent) -> tuple[Limiter, ...]:
        """The narrower RPM caps a call of ``agent`` passes: the crew's and the agent's."""
        if agent.max_rpm is None:
            return self.caps
        return (*self.caps, get_runtime().cap(agent, agent.max_rpm))

    def add_usage(self, resp: ChatResponse) -> None:
        """Count one successful call of this run."""
        self.meter.add(resp)

    @property
    def usage(self) -> UsageMetrics:
        """This run's token usage so far (CrewAI's ``UsageMetrics``)."""
        meter = self.meter
        return fast_model(
            UsageMetrics,
            {
                "total_tokens": meter.total_tokens,
                "prompt_tokens": meter.prompt_tokens,
                "cached_prompt_tokens": meter.cached_prompt_tokens,
                "completion_tokens": meter.completion_tokens,
                "successful_requests": meter.requests,
                "retries": meter.retries,
                "cost_usd": meter.cost_usd,
                "unpriced_requests": meter.unpriced_requests,
                "cache_hits": meter.cache_hits,
                "cache_misses": meter.cache_misses,
                "saved_usd": meter.saved_usd,
            },
        )

    def agent_prompt(self, agent: Agent) -> tuple[str, str]:
        """(rendered role, system prompt) of ``agent`` for this run."""
        found = self._systems.get(id(agent))
        if found is None:
            where = f"agent {agent.role!r}"
            role = render(agent.role, self.inputs, f"the role of {where}")
            found = (
                role,
                _system_prompt(
                    role,
                    render(agent.goal, self.inputs, f"the goal of {where}"),
                    render(agent.backstory, self.inputs, f"the backstory of {where}"),
                ),
            )
            self._systems[id(agent)] = found
        return found


class Meta:
    """What a chunk says about where it came from (task, agent, input)."""

    __slots__ = ("fields",)

    def __init__(self, **fields: Any) -> None:
        self.fields = fields

    def chunk(self, content: str) -> StreamChunk:
        """A text chunk."""
        return StreamChunk.model_construct(content=content, **self.fields)

    def tool_chunk(self, call: Mapping[str, Any], index: int) -> StreamChunk:
        """One whole tool call the model asked for."""
        function = call.get("function") or {}
        arguments = str(function.get("arguments") or "")
        tool = ToolCallChunk(
            tool_id=call.get("id"),
            tool_name=function.get("name"),
            arguments=arguments,
            index=index,
        )
        return StreamChunk.model_construct(
            content=arguments,
            chunk_type=StreamChunkType.TOOL_CALL,
            tool_call=tool,
            **self.fields,
        )
