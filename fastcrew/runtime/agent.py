"""``Agent``: a role, a goal, a backstory and an LLM. A template: runs never change it."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from ..errors import ConfigurationError
from ..knowledge.fields import (
    EmbedderSpec,
    KnowledgeSources,
    KnowledgeStorageSpec,
    check_knowledge,
    embedder_key,
)
from ..llm import LLM
from ..process_runtime import get_runtime
from ..tools import BaseTool
from ..tools.adapters import ToolAdapters, check_tool
from . import compat
from .lite import Messages, akickoff, check_agent_guardrail
from .outputs import LiteAgentOutput

if TYPE_CHECKING:
    from .task import Task

__all__ = ["Agent"]

log = logging.getLogger("fastcrew.runtime")


def resolve_llm(value: Any) -> Any:
    """An LLM from what a user wrote: None or a model string → :class:`LLM`; an object with
    ``achat``, ``acall`` or ``call`` (a CrewAI ``BaseLLM`` subclass) is used as is."""
    if value is None or isinstance(value, str):
        return LLM(value)
    if not any(callable(getattr(value, name, None)) for name in ("achat", "acall", "call")):
        raise ConfigurationError(
            f"llm must be a fastcrew LLM, a model string, a BaseLLM subclass or an object "
            f"with a call(messages, ...) or async acall(messages, ...) method, "
            f"not {type(value).__name__}"
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


class Agent(compat.OwnErrors, BaseModel):
    """An agent, as in CrewAI: ``Agent(role, goal, backstory, llm=...)``.

    ``llm`` is an :class:`~fastcrew.LLM` or a model string (default: ``$MODEL`` /
    ``$OPENAI_MODEL_NAME`` / ``gpt-4.1-mini`` with the provider's env vars). One agent may
    serve any number of crews and concurrent runs. ``max_execution_time`` (seconds) cancels a
    task that runs longer. ``max_rpm`` is an extra, narrower cap on this agent's calls across
    all its runs (the shared RPM/TPM budget lives in the LLM client); ``max_retry_limit`` is
    stored for CrewAI compatibility: retries happen once, inside the LLM client.
    ``tools`` (``fastcrew.tools``) are called natively or in the ReAct format, at most
    ``max_iter`` steps per answer (results cached per run only when opted in: ``cache``);
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
    """Whether this agent takes part in tool-result caching (per run). Opt-in, as in CrewAI
    1.15: results are cached when the crew has ``cache=True``, or when this agent was given
    ``cache=True`` explicitly; ``cache=False`` keeps the agent out either way."""
    verbose: bool = False
    guardrail: Any = None
    """Checks the answers of direct ``kickoff`` calls (as in CrewAI; tasks use their own): a
    callable(LiteAgentOutput) -> (ok, value_or_feedback), or criteria in plain language
    checked by the agent's LLM."""
    guardrail_max_retries: int = Field(default=3, ge=0)
    knowledge_sources: KnowledgeSources = None
    """Knowledge sources (``fastcrew.knowledge.source``) searched before each of the agent's
    tasks, in the collection named after its role (CrewAI's); indexed at the first kickoff."""
    knowledge: Any = None
    """A :class:`~fastcrew.knowledge.Knowledge` of the agent's own (``knowledge_sources``,
    when given, build one instead)."""
    knowledge_storage: KnowledgeStorageSpec = None
    """CrewAI's ``knowledge_storage=``: a storage of your own (a ``BaseKnowledgeStorage``)
    for the agent's knowledge: its ``knowledge_sources`` are saved there, and it is searched
    before each task (with no sources too)."""
    knowledge_config: Any = None
    """A :class:`~fastcrew.knowledge.KnowledgeConfig` (or its dict): results per query and
    the score threshold of the agent's knowledge searches."""
    embedder: EmbedderSpec = None
    """CrewAI's ``embedder=`` dict for the agent's knowledge (default: the crew's)."""
    memory: Any = None
    """CrewAI's agent memory: ``True`` (a ``Memory`` with this agent's LLM) or a
    ``fastcrew.memory`` Memory / scope / slice, used instead of the crew's (docs/memory.md)."""
    id: uuid.UUID = Field(default_factory=uuid.uuid4)

    @model_validator(mode="before")
    @classmethod
    def _screen(cls, data: Any) -> Any:
        return compat.screen("Agent", _merge_config(data), compat.AGENT, set(cls.model_fields))

    @field_validator("guardrail")
    @classmethod
    def _guardrail(cls, value: Any) -> Any:
        return check_agent_guardrail(value)

    @field_validator("llm", mode="before")
    @classmethod
    def _resolve_llm(cls, value: Any) -> Any:
        return resolve_llm(value)

    _adapters: ToolAdapters = PrivateAttr(default_factory=ToolAdapters)
    _knowledges: dict[str, Any] = PrivateAttr(default_factory=dict)
    _memories: dict[str, Any] = PrivateAttr(default_factory=dict)

    @field_validator("memory", mode="before")
    @classmethod
    def _memory_value(cls, value: Any) -> Any:
        from ..memory.crews import check_memory

        return check_memory(value, "Agent")

    def memory_for(self, crew_embedder: Any = None) -> Any:
        """The agent's own memory (None without one) in a crew whose embedder is
        ``crew_embedder`` (used when the agent has none); ``memory=True`` builds a
        ``Memory`` on first use, once per embedder (no I/O)."""
        if not self.memory:
            return None
        if self.memory is not True:
            return self.memory
        embedder = self.embedder if self.embedder is not None else crew_embedder
        key = embedder_key(embedder)
        found = self._memories.get(key)
        if found is None:
            from ..memory.crews import agent_memory

            found = self._memories.setdefault(key, agent_memory(self.llm, embedder))
        return found

    @field_validator("knowledge_config", mode="before")
    @classmethod
    def _knowledge_config(cls, value: Any) -> Any:
        if value is None:
            return None
        from ..knowledge.knowledge_config import KnowledgeConfig

        if isinstance(value, KnowledgeConfig):
            return value
        if isinstance(value, Mapping):
            return KnowledgeConfig(**value)
        raise ConfigurationError(
            f"knowledge_config must be a KnowledgeConfig or a dict, not {type(value).__name__}"
        )

    @field_validator("knowledge", mode="before")
    @classmethod
    def _knowledge(cls, value: Any) -> Any:
        return check_knowledge(value, "Agent")

    def knowledge_for(self, crew_embedder: Any = None) -> Any:
        """The agent's :class:`~fastcrew.knowledge.Knowledge` in a crew whose embedder is
        ``crew_embedder`` (used when the agent has none, as CrewAI does), or None: one of its
        ``knowledge_sources`` (in its ``knowledge_storage`` if given), else its ``knowledge``,
        else one searching its ``knowledge_storage``. Built on first use, once per embedder
        (once in all with a ``knowledge_storage``); no I/O (indexing happens at the first
        kickoff)."""
        storage = self.knowledge_storage
        if not self.knowledge_sources and (self.knowledge is not None or storage is None):
            return self.knowledge
        embedder = self.embedder if self.embedder is not None else crew_embedder
        key = "storage" if storage is not None else embedder_key(embedder)
        found = self._knowledges.get(key)
        if found is None:
            from ..knowledge.knowledge import Knowledge

            sources = list(self.knowledge_sources or ())
            found = Knowledge(self.role, sources, embedder=embedder, storage=storage)
            found = self._knowledges.setdefault(key, found)
        return found

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

    async def aexecute_task(
        self, task: Task, context: str | None = None, tools: Sequence[Any] | None = None
    ) -> Any:
        """This agent's answer to ``task``, without a crew, as in CrewAI: the text, or for a
        task with ``output_pydantic`` / ``output_json`` the validated model.

        ``context`` is text given as earlier results; ``tools`` replace the task's and the
        agent's for this answer. The task's guardrails, callback and output file are not
        applied (that is :meth:`Task.execute_sync`); placeholders stay as written.
        """
        from .standalone import aexecute, agent_answer

        return agent_answer(task, await aexecute(task, self, context, tools, finish=False))

    def execute_task(
        self, task: Task, context: str | None = None, tools: Sequence[Any] | None = None
    ) -> Any:
        """Synchronous :meth:`aexecute_task` (on the runtime's home loop)."""
        from .standalone import aexecute, agent_answer, run_sync

        output = run_sync(
            aexecute(task, self, context, tools, finish=False),
            "Agent.execute_task",
            "Agent.aexecute_task",
        )
        return agent_answer(task, output)

    async def akickoff(
        self,
        messages: Messages | None = None,
        response_format: type[BaseModel] | None = None,
        input_files: Mapping[str, Any] | None = None,
        *,
        query: str | None = None,
    ) -> LiteAgentOutput:
        """Ask the agent directly: a string or chat messages in, a LiteAgentOutput out.

        ``response_format`` (a pydantic model) makes the answer structured: it is validated,
        with one repair request on failure. The agent's ``guardrail`` checks the answer, and
        a rejection asks again (``guardrail_max_retries``). ``query=`` is accepted as an
        alias of a string ``messages``; ``input_files`` are not supported yet.
        """
        return await akickoff(self, messages, response_format, query, input_files)

    async def kickoff_async(
        self,
        messages: Messages | None = None,
        response_format: type[BaseModel] | None = None,
        input_files: Mapping[str, Any] | None = None,
        *,
        query: str | None = None,
    ) -> LiteAgentOutput:
        """Same as :meth:`akickoff` (native async: direct agent calls need no thread)."""
        return await self.akickoff(messages, response_format, input_files, query=query)

    def kickoff(
        self,
        messages: Messages | None = None,
        response_format: type[BaseModel] | None = None,
        input_files: Mapping[str, Any] | None = None,
        *,
        query: str | None = None,
    ) -> LiteAgentOutput | Coroutine[Any, Any, LiteAgentOutput]:
        """Synchronous :meth:`akickoff`, on the runtime's home loop.

        As in CrewAI, called inside a running event loop (an ``async def`` flow method) it
        returns the coroutine of :meth:`akickoff` instead, to be awaited (a flow awaits a
        method's returned coroutine).
        """
        work = self.akickoff(messages, response_format, input_files, query=query)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return get_runtime().run(work, api="Agent.kickoff", async_api="Agent.akickoff")
        return work
