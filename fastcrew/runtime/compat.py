"""CrewAI constructor arguments that fastcrew does not run (yet), in one table.

An unsupported feature that is switched on raises :class:`UnsupportedFeatureError` naming it,
because a crew silently run without it would give different answers. A handful of arguments
that cannot change an answer (caching, telemetry, tool-only settings) are accepted and
ignored. Anything else unknown is rejected by pydantic (``extra="forbid"``), so typos fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..errors import UnsupportedFeatureError, unwrap_validation_error

__all__ = ["AGENT", "CREW", "TASK", "OwnErrors", "screen"]

AGENT: tuple[dict[str, str], frozenset[str]] = (
    {
        "reasoning": "reasoning / planning before a task",
        "multimodal": "multimodal agents",
        "apps": "platform apps (tools)",
        "a2a": "agent-to-agent delegation",
        "from_repository": "loading agents from a repository",
        "system_template": "custom prompt templates",
        "prompt_template": "custom prompt templates",
        "response_template": "custom prompt templates",
        "inject_date": "date injection",
    },
    frozenset(
        {
            "respect_context_window",
            "use_system_prompt",
            "code_execution_mode",
            "function_calling_llm",
            "step_callback",
            "callbacks",
            "security_config",
            "i18n",
            "date_format",
            "max_reasoning_attempts",
            "crew",
            "cache_handler",
            "tools_handler",
            "agent_executor",
        }
    ),
)

TASK: tuple[dict[str, str], frozenset[str]] = (
    {
        "human_input": "human review of task answers",
        "converter_cls": "custom output converters",
        "input_files": "task input files",
    },
    frozenset(
        {
            "allow_crewai_trigger_context",
            "security_config",
            "i18n",
            "prompt_context",
            # accepted by CrewAI's Task, no effect on an answer (run state CrewAI keeps on it)
            "verbose",
            "used_tools",
            "tools_errors",
            "delegations",
            "processed_by_agents",
            "retry_count",
            "start_time",
            "end_time",
            "output",
        }
    ),
)

CREW: tuple[dict[str, str], frozenset[str]] = (
    {
        "planning": "crew planning",
        "planning_llm": "crew planning",
        "prompt_file": "custom prompt files",
        "config": "crews built from a config dict",
    },
    frozenset(
        {
            "cache",
            "share_crew",
            "tracing",
            "security_config",
            "function_calling_llm",
            "step_callback",
            "chat_llm",
            "output_log_file",
            "full_output",
            "language",
            "language_file",
            "manager_callbacks",
            "usage_metrics",
        }
    ),
)


def screen(
    kind: str,
    data: Any,
    table: tuple[dict[str, str], frozenset[str]],
    declared: frozenset[str] | set[str] = frozenset(),
) -> Any:
    """Raise for a switched-on unsupported argument; drop the harmless ignored ones.

    ``declared`` are the model's own fields: they are kept (e.g. ``tools=[]``).
    """
    if not isinstance(data, Mapping):
        return data
    unsupported, ignored = table
    out = dict(data)
    for key, value in data.items():
        if key in unsupported and value:
            raise UnsupportedFeatureError(
                f"{kind}({key}=...) is not supported by fastcrew yet: {unsupported[key]}. "
                "Remove it, or run this crew with CrewAI."
            )
        if key in declared:
            continue
        if key in ignored or key in unsupported:
            del out[key]
    return out


class OwnErrors:
    """Mixed into ``Agent``, ``Task`` and ``Crew`` (before ``BaseModel``): a fastcrew error
    raised by a validator reaches the caller as itself, not inside pydantic's
    ``ValidationError`` (pydantic wraps every ``ValueError``, and ``ConfigurationError`` is
    one, as CrewAI's validation errors are)."""

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            found = unwrap_validation_error(exc)
            if found is exc:
                raise
            raise found from None
