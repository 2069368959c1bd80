"""What a run returns: per-task and per-crew outputs and their token usage."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..llm.usage import UsageMetrics

__all__ = [
    "CrewOutput",
    "LiteAgentOutput",
    "OutputFormat",
    "TaskOutput",
    "UsageMetrics",
    "fast_model",
]


class OutputFormat(StrEnum):
    """The shape of a task's answer."""

    JSON = "json"
    PYDANTIC = "pydantic"
    RAW = "raw"


_set = object.__setattr__
_all_fields: dict[type[BaseModel], set[str]] = {}


def fast_model(cls: type[BaseModel], values: dict[str, Any]) -> Any:
    """An instance of ``cls`` from already-valid values holding *every* field.

    What ``model_construct`` does, minus its per-field default handling: the runtime builds
    one of these per task and per run, so it sits on the hot path. As every field is set,
    all instances share one ``fields_set`` (pydantic only ever adds names already in it),
    which saves a set per object: ~1.6 KiB per kept CrewOutput.
    """
    fields = _all_fields.get(cls)
    if fields is None:
        fields = _all_fields[cls] = set(cls.model_fields)
    obj = cls.__new__(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", fields)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def _summary(description: str) -> str:
    return " ".join(description.split(" ")[:10]) + "..."


class _Structured(BaseModel):
    """Shared accessors of outputs that may carry a pydantic model or a JSON dict."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    raw: str = ""
    pydantic: BaseModel | None = None
    json_dict: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The structured answer as a dict (``json_dict`` first, then the pydantic model)."""
        if self.json_dict:
            return dict(self.json_dict)
        if self.pydantic is not None:
            return self.pydantic.model_dump()
        return {}

    def __str__(self) -> str:
        if self.pydantic is not None:
            return str(self.pydantic)
        if self.json_dict:
            return str(self.json_dict)
        return self.raw


class TaskOutput(_Structured):
    """The answer of one task in one run."""

    description: str
    name: str | None = None
    expected_output: str | None = None
    summary: str | None = None
    agent: str = ""
    output_format: OutputFormat = OutputFormat.RAW
    messages: list[dict[str, Any]] = Field(default_factory=list)
    used_tools: int = 0
    """Tool calls of this task that produced a result (CrewAI keeps this on the Task)."""
    tools_errors: int = 0
    """Tool calls of this task that failed: bad arguments, an exception, an unknown tool."""
    delegations: int = 0
    """Coworker tool calls of this task."""

    def model_post_init(self, context: Any, /) -> None:
        if self.summary is None:
            self.summary = _summary(self.description)

    @classmethod
    def build(
        cls,
        *,
        description: str,
        name: str | None,
        expected_output: str,
        raw: str,
        agent: str,
        output_format: OutputFormat,
        pydantic: BaseModel | None,
        json_dict: dict[str, Any] | None,
        messages: list[dict[str, Any]],
        tool_counts: tuple[int, int, int] = (0, 0, 0),
    ) -> TaskOutput:
        """Fast constructor for the runtime (fields are already the right types);
        ``tool_counts`` is (used_tools, tools_errors, delegations)."""
        return fast_model(
            cls,
            {
                "raw": raw,
                "pydantic": pydantic,
                "json_dict": json_dict,
                "description": description,
                "name": name,
                "expected_output": expected_output,
                "summary": _summary(description),
                "agent": agent,
                "output_format": output_format,
                "messages": messages,
                "used_tools": tool_counts[0],
                "tools_errors": tool_counts[1],
                "delegations": tool_counts[2],
            },
        )

    @property
    def json(self) -> str | None:  # type: ignore[override]
        """The JSON answer as a string; only for tasks with ``output_json``."""
        if self.output_format is not OutputFormat.JSON:
            raise ValueError(
                "Invalid output format requested: this task has no JSON output (set "
                "output_json on the task to get one)"
            )
        return json.dumps(self.json_dict)


class CrewOutput(_Structured):
    """The result of one crew run: the last task's answer, every task's output, the usage."""

    tasks_output: list[TaskOutput] = Field(default_factory=list)
    token_usage: UsageMetrics = Field(default_factory=UsageMetrics)

    @property
    def usage_metrics(self) -> dict[str, Any]:
        """``token_usage`` as a plain dict (same shape as ``LiteAgentOutput.usage_metrics``)."""
        return self.token_usage.model_dump()

    @property
    def json(self) -> str | None:  # type: ignore[override]
        """The final task's JSON answer as a string; only when it has ``output_json``."""
        if not self.tasks_output or self.tasks_output[-1].output_format is not OutputFormat.JSON:
            raise ValueError(
                "No JSON output found in the final task. Set output_json on the last task of "
                "the crew to get one."
            )
        return json.dumps(self.json_dict)

    def __getitem__(self, key: str) -> Any:
        if self.pydantic is not None and hasattr(self.pydantic, key):
            return getattr(self.pydantic, key)
        if self.json_dict and key in self.json_dict:
            return self.json_dict[key]
        raise KeyError(f"key {key!r} is not in the crew's structured output")


class LiteAgentOutput(BaseModel):
    """The result of ``Agent.kickoff``: the answer, its parsed model, the usage of that call
    (guardrail checks and retries included) and the conversation."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    raw: str = ""
    pydantic: BaseModel | None = None
    agent_role: str = ""
    usage_metrics: dict[str, Any] | None = None
    messages: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def token_usage(self) -> UsageMetrics:
        """``usage_metrics`` as a :class:`UsageMetrics` (as ``CrewOutput.token_usage``)."""
        if not self.usage_metrics:
            return UsageMetrics()
        return UsageMetrics.model_validate(self.usage_metrics)

    def to_dict(self) -> dict[str, Any]:
        """The parsed model as a dict (empty without ``response_format``)."""
        return self.pydantic.model_dump() if self.pydantic is not None else {}

    def __str__(self) -> str:
        return self.raw  # as in CrewAI, even with a parsed model
