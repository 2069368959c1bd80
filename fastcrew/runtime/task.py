"""``Task``: what to do, what to deliver, who does it. A template: runs never change it."""

from __future__ import annotations

import concurrent.futures
import hashlib
import inspect
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from ..tools import BaseTool
from ..tools.adapters import ToolAdapters
from . import compat
from .agent import Agent, _merge_config, check_tools
from .output_file import check_output_file
from .outputs import OutputFormat, TaskOutput
from .prompts import task_prompt

__all__ = ["Task"]

Guardrail = Callable[[TaskOutput], Any] | str


def _check_guardrail(value: Any) -> Any:
    if isinstance(value, str) or value is None:
        return value
    if not callable(value):
        raise ValueError("a guardrail must be a callable(TaskOutput) -> (ok, value) or a string")
    try:
        params = [
            p
            for p in inspect.signature(value).parameters.values()
            if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return value
    if len(params) != 1:
        raise ValueError("a guardrail function must take exactly one argument (the TaskOutput)")
    return value


class Task(compat.OwnErrors, BaseModel):
    """A task, as in CrewAI: ``Task(description, expected_output, agent=...)``.

    ``{placeholders}`` in ``description``, ``expected_output`` and ``output_file`` are filled
    from the kickoff inputs. ``context`` lists earlier tasks whose outputs this one gets
    (default: the outputs before it; ``[]`` or ``None``: none). ``async_execution=True`` runs
    the task alongside the next ones until a later task needs it. ``output_pydantic`` /
    ``output_json`` ask for structured output. ``guardrail`` (a callable returning
    ``(ok, value_or_feedback)``, or a plain-language criterion checked by the agent's LLM)
    retries with feedback up to ``guardrail_max_retries`` times. ``callback(output)`` runs
    after the task; ``output_file`` gets the answer.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    description: str
    expected_output: str
    name: str | None = None
    agent: Agent | None = None
    context: list[Task] | None = None
    async_execution: bool = False
    output_json: type[BaseModel] | None = None
    output_pydantic: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    output_file: str | None = None
    create_directory: bool = True
    callback: Callable[[TaskOutput], Any] | None = None
    guardrail: Guardrail | None = None
    guardrails: list[Guardrail] | None = None
    guardrail_max_retries: int = Field(default=3, ge=0)
    markdown: bool = False
    tools: list[Any] = Field(default_factory=list)
    id: uuid.UUID = Field(default_factory=uuid.uuid4)

    __hash__ = object.__hash__

    @model_validator(mode="before")
    @classmethod
    def _screen(cls, data: Any) -> Any:
        data = compat.screen("Task", _merge_config(data), compat.TASK, set(cls.model_fields))
        if isinstance(data, dict) and "max_retries" in data:  # CrewAI's deprecated name
            retries = data.pop("max_retries")
            if retries is not None:
                data.setdefault("guardrail_max_retries", retries)
        return data

    _adapters: ToolAdapters = PrivateAttr(default_factory=ToolAdapters)

    @field_validator("tools", mode="before")
    @classmethod
    def _tools(cls, value: Any) -> Any:
        return check_tools(value, "Task")

    def native_tools(self) -> list[BaseTool]:
        """``tools`` as fastcrew tools (CrewAI and LangChain objects adapted once each)."""
        return self._adapters.tools(self.tools or ())

    @field_validator("output_file")
    @classmethod
    def _output_file(cls, value: str | None) -> str | None:
        return check_output_file(value)

    @field_validator("guardrail")
    @classmethod
    def _guardrail(cls, value: Any) -> Any:
        return _check_guardrail(value)

    @field_validator("guardrails", mode="before")
    @classmethod
    def _guardrails(cls, value: Any) -> Any:
        if value is None:
            return None
        items = list(value) if isinstance(value, list | tuple) else [value]
        return [_check_guardrail(v) for v in items]

    @model_validator(mode="after")
    def _one_schema(self) -> Task:
        given = [
            n for n in ("output_json", "output_pydantic", "response_model") if getattr(self, n)
        ]
        if len(given) > 1:
            raise ValueError(f"set only one of output_json / output_pydantic, not {given}")
        return self

    def __eq__(self, other: object) -> bool:
        return self is other

    def __repr__(self) -> str:
        return f"Task(name={self.name!r}, description={self.description[:60]!r})"

    @property
    def key(self) -> str:
        """CrewAI's task key: the md5 of the description and expected output templates."""
        text = f"{self.description}|{self.expected_output}"
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    @property
    def context_given(self) -> bool:
        """Whether ``context`` was set explicitly (``None`` given means: no context)."""
        return "context" in self.model_fields_set

    def output_schema(self) -> tuple[type[BaseModel] | None, OutputFormat]:
        """The structured-output model and the output format it gives."""
        if self.output_json is not None:
            return self.output_json, OutputFormat.JSON
        if self.output_pydantic is not None:
            return self.output_pydantic, OutputFormat.PYDANTIC
        if self.response_model is not None:
            return self.response_model, OutputFormat.PYDANTIC
        return None, OutputFormat.RAW

    def guardrail_list(self) -> list[Guardrail]:
        """The guardrails checked, in order: ``guardrails`` when it has any (then
        ``guardrail`` is not used, as in CrewAI), else ``guardrail``."""
        if self.guardrails:
            return list(self.guardrails)
        return [self.guardrail] if self.guardrail is not None else []

    # -- running it alone (no crew) --------------------------------------------------------

    async def aexecute_sync(
        self,
        agent: Agent | None = None,
        context: str | None = None,
        tools: Sequence[Any] | None = None,
    ) -> TaskOutput:
        """Run this task once, without a crew, natively on the running loop.

        ``agent`` defaults to the task's; ``context`` is text the agent gets as earlier
        results; ``tools`` replace the task's and the agent's for this run. Guardrails, the
        callback and ``output_file`` apply; placeholders stay as written (no inputs).
        """
        from .standalone import aexecute

        return await aexecute(self, agent, context, tools)

    def execute_sync(
        self,
        agent: Agent | None = None,
        context: str | None = None,
        tools: Sequence[Any] | None = None,
    ) -> TaskOutput:
        """Synchronous :meth:`aexecute_sync` (on the runtime's home loop); refuses inside a
        running event loop."""
        from .standalone import aexecute, run_sync

        return run_sync(
            aexecute(self, agent, context, tools), "Task.execute_sync", "Task.aexecute_sync"
        )

    def execute_async(
        self,
        agent: Agent | None = None,
        context: str | None = None,
        tools: Sequence[Any] | None = None,
    ) -> concurrent.futures.Future[TaskOutput]:
        """:meth:`execute_sync` started in a thread: a ``concurrent.futures.Future`` at once,
        as in CrewAI (from async code, prefer ``await task.aexecute_sync(...)``)."""
        from .standalone import aexecute, in_thread

        return in_thread(aexecute(self, agent, context, tools), "Task.execute_async")

    def prompt(self) -> str:
        """The task's user message as fastcrew sends it, without context: the description,
        the expected output, the Markdown and JSON instructions (templates not rendered)."""
        schema, _ = self.output_schema()
        return task_prompt(
            self.description,
            self.expected_output,
            "",
            markdown=self.markdown,
            structured=schema.__name__ if schema is not None else None,
        )
