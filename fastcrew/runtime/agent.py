"""``Agent``: a role, a goal, a backstory and an LLM. A template: runs never change it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from ..core import get_runtime
from ..errors import ConfigurationError
from ..llm import LLM
from ..tools import BaseTool
from ..tools.adapters import ToolAdapters, check_tool
from . import compat
from .acting import act, task_toolbox
from .calls import answer, call_with_timeout
from .outputs import LiteAgentOutput
from .prompts import agent_system_prompt
from .run_state import Run
from .trace import trace_for

__all__ = ["Agent"]

log = logging.getLogger("fastcrew.runtime")

Messages = str | Sequence[Mapping[str, Any]]


def resolve_llm(value: Any) -> Any:
    """An LLM from what a user wrote: None or a model string → :class:`LLM`; an object with
    an async ``acall`` is used as is."""
    if value is None or isinstance(value, str):
        return LLM(value)
    if not callable(getattr(value, "acall", None)):
        raise ConfigurationError(
            f"llm must be a fastcrew LLM, a model string or an object with an async "
            f"acall(messages, ...) method, not {type(value).__name__}"
        )
    return value


def check_tools(value: Any, owner: str) -> Any:
    """The tools list as given: fastcrew tools, CrewAI and LangChain tool objects (adapted
    when a run uses them); anything else fails here, naming the kinds accepted."""
    if value is None:
        return []
    items = list(value) if isinstance(value, list | tuple) else [value]
    for item in items:
        check_tool(item, owner)
    return items


def _merge_config(data: Any) -> Any:
    """CrewAI's ``config=`` (e.g. from agents.yaml): its keys fill unset arguments."""
    if isinstance(data, Mapping) and isinstance(data.get("config"), Mapping):
        data = {**data["config"], **{k: v for k, v in data.items() if k != "config"}}
    return data


class Agent(BaseModel):
    """An agent, as in CrewAI: ``Agent(role, goal, backstory, llm=...)``.

    ``llm`` is an :class:`~fastcrew.LLM` or a model string (default: ``$MODEL`` /
    ``$OPENAI_MODEL_NAME`` / ``gpt-4o-mini`` with the provider's env vars). One agent may
    serve any number of crews and concurrent runs. ``max_execution_time`` (seconds) cancels a
    task that runs longer. ``max_rpm`` is an extra, narrower cap on this agent's calls across
    all its runs (the shared RPM/TPM budget lives in the LLM client); ``max_retry_limit`` is
    stored for CrewAI compatibility: retries happen once, inside the LLM client.
    ``tools`` (``fastcrew.tools``) are called natively or in the ReAct format, at most
    ``max_iter`` steps per answer, their results cached per run when ``cache``;
    ``allow_delegation=True`` adds the coworker tools over the crew's other agents;
    ``allow_code_execution=True`` adds a code interpreter that runs Python in a subprocess.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    role: str
    goal: str
    backstory: str
    llm: Any = Field(default=None, validate_default=True)
    tools: list[Any] = Field(default_factory=list)
    mcps: list[Any] = Field(default_factory=list)
    """MCP servers whose tools the agent gets: ``https://...`` strings (``#tool`` picks one)
    and ``fastcrew.mcp`` configs (docs/mcp.md)."""
    max_iter: int = Field(default=25, ge=1)
    max_rpm: int | None = Field(default=None, ge=1)
    max_execution_time: float | None = Field(default=None, gt=0)
    max_retry_limit: int = Field(default=2, ge=0)
    allow_delegation: bool = False
    allow_code_execution: bool = False
    cache: bool = True
    verbose: bool = False
    id: uuid.UUID = Field(default_factory=uuid.uuid4)

    @model_validator(mode="before")
    @classmethod
    def _screen(cls, data: Any) -> Any:
        return compat.screen("Agent", _merge_config(data), compat.AGENT, set(cls.model_fields))

    @field_validator("llm", mode="before")
    @classmethod
    def _resolve_llm(cls, value: Any) -> Any:
        return resolve_llm(value)

    _adapters: ToolAdapters = PrivateAttr(default_factory=ToolAdapters)

    @field_validator("tools", mode="before")
    @classmethod
    def _tools(cls, value: Any) -> Any:
        return check_tools(value, "Agent")

    @field_validator("mcps", mode="before")
    @classmethod
    def _mcps(cls, value: Any) -> Any:
        from ..mcp import check_mcps

        return check_mcps(value)

    def model_post_init(self, context: Any, /) -> None:
        self._adapters.tools(self.tools)  # adapt foreign tools now: a bad one fails here

    def native_tools(self) -> list[BaseTool]:
        """``tools`` as fastcrew tools (CrewAI and LangChain objects adapted once each)."""
        return self._adapters.tools(self.tools)

    def __repr__(self) -> str:
        return f"Agent(role={self.role!r}, goal={self.goal!r}, llm={self.llm!r})"

    # -- direct calls (no crew) -----------------------------------------------------------

    async def akickoff(
        self,
        messages: Messages | None = None,
        response_format: type[BaseModel] | None = None,
        *,
        query: str | None = None,
    ) -> LiteAgentOutput:
        """Ask the agent directly: a string or chat messages in, a LiteAgentOutput out.

        ``response_format`` (a pydantic model) makes the answer structured: it is validated,
        with one repair request on failure. ``query=`` is accepted as an alias of a string
        ``messages``.
        """
        if messages is None:
            messages = query
        if messages is None:
            raise TypeError("Agent.kickoff() needs messages: a string or a list of messages")
        run_ = Run({})
        conversation: list[dict[str, Any]] = [
            {"role": "system", "content": agent_system_prompt(self.role, self.goal, self.backstory)}
        ]
        if isinstance(messages, str):
            conversation.append({"role": "user", "content": messages})
        else:
            conversation.extend(dict(m) for m in messages)
        who = (None, self.role)
        caps = run_.caps_for(self)
        toolbox = task_toolbox(run_, self, None)
        trace = trace_for(run_, self)
        if trace is not None:
            trace.agent_started(self.role, str(conversation[-1].get("content") or ""))
            if toolbox is not None:
                toolbox.trace = trace
        if toolbox is None:
            work = answer(run_, self.llm, conversation, response_format, None, who, caps)
        else:
            work = act(
                run_,
                self.llm,
                conversation,
                toolbox,
                response_format,
                None,
                who,
                caps,
                self.max_iter,
            )
        raw, model, conversation = await call_with_timeout(work, self.max_execution_time, who)
        if trace is not None:
            trace.answer(self.role, raw)
        return LiteAgentOutput(
            raw=raw,
            pydantic=model,
            agent_role=self.role,
            usage_metrics=run_.usage.model_dump(),
            messages=conversation,
        )

    async def kickoff_async(
        self,
        messages: Messages | None = None,
        response_format: type[BaseModel] | None = None,
        *,
        query: str | None = None,
    ) -> LiteAgentOutput:
        """Same as :meth:`akickoff` (native async: direct agent calls need no thread)."""
        return await self.akickoff(messages, response_format, query=query)

    def kickoff(
        self,
        messages: Messages | None = None,
        response_format: type[BaseModel] | None = None,
        *,
        query: str | None = None,
    ) -> LiteAgentOutput:
        """Synchronous :meth:`akickoff`; refuses inside a running event loop."""
        return get_runtime().run(
            self.akickoff(messages, response_format, query=query),
            api="Agent.kickoff",
            async_api="Agent.akickoff",
        )
