"""``Task``: what to do, what to deliver, who does it. A template: runs never change it."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from ..tools import BaseTool
from ..tools.adapters import ToolAdapters
from . import compat
from .agent import Agent, _merge_config, check_tools
from .outputs import OutputFormat, TaskOutput

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


class Task(BaseModel):
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
        """Every guardrail of the task, in the order they are checked."""
        out: list[Guardrail] = []
        if self.guardrail is not None:
            out.append(self.guardrail)
        if self.guardrails:
            out.extend(self.guardrails)
        return out

    def prompt(self) -> str:
        """The task's description and expected output, as templates (not rendered)."""
        return f"{self.description}\n\nDeliver: {self.expected_output}"
