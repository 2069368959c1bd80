"""Delegation: the two coworker tools an agent with ``allow_delegation=True`` gets (and the
manager of a hierarchical crew), as in CrewAI — *Delegate work to coworker* and *Ask
question to coworker*, each naming a coworker by role.

A coworker's answer is a nested agent call of the same run: its usage counts in the run, it
passes the same caps and budget, and it may use its own tools (not delegation: a coworker
answers, it does not hand the work on again).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, create_model

from ...tools import BaseTool, ToolRunState
from ..calls import answer
from ..prompts import task_prompt
from .steps import act, current_run
from .toolbox import Toolbox

if TYPE_CHECKING:
    from ..agent import Agent
    from ..run_state import Run

__all__ = ["AskQuestionTool", "DelegateWorkTool", "coworker_answer", "delegation_tools"]

COWORKER_EXPECTED = (
    "Your best answer to your coworker, taking into account the context they shared."
)


_ARGS = {
    "DelegateWork": (
        ("task", "The task to hand over, with everything needed to do it"),
        ("context", "All the context the coworker needs for the task"),
        ("coworker", "The role of the coworker to hand the task to"),
    ),
    "AskQuestion": (
        ("question", "The question to ask"),
        ("context", "All the context the coworker needs to answer"),
        ("coworker", "The role of the coworker to ask"),
    ),
}
_schemas: dict[tuple[str, tuple[str, ...]], type[BaseModel]] = {}


def _args_schema(kind: str, roles: tuple[str, ...]) -> type[BaseModel]:
    """The tool's arguments, ``coworker`` shown to the model as an enum of the coworkers'
    roles (so a model — or the simulator — picks a real one) but accepted as any text and
    matched as CrewAI matches it (case, spaces, ``[role]``); one model per set of roles."""
    found = _schemas.get((kind, roles))
    if found is None:
        fields: dict[str, Any] = {}
        for name, text in _ARGS[kind]:
            extra: Any = {"enum": list(roles)} if name == "coworker" and roles else None
            fields[name] = (str, Field(description=text, json_schema_extra=extra))
        found = _schemas[(kind, roles)] = create_model(f"{kind}Args", **fields)
    return found


def _fold(role: str) -> str:
    return " ".join(role.split()).replace('"', "").casefold()


class _CoworkerTool(BaseTool):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    delegates: ClassVar[bool] = True
    """Counted in ``delegations``."""

    coworkers: list[Any] = Field(default_factory=list, exclude=True)

    def _find(self, coworker: str | None) -> Agent | None:
        name = (coworker or "").strip()
        if name.startswith("[") and name.endswith("]"):  # a list where one name was meant
            name = name[1:-1].split(",")[0]
        wanted = _fold(name)
        return next((a for a in self.coworkers if _fold(a.role) == wanted), None)

    async def _ask(self, request: str, context: str, coworker: str | None) -> str:
        agent = self._find(coworker)
        if agent is None:
            roles = "\n".join(f"- {a.role}" for a in self.coworkers)
            return (
                f"There is no coworker with the role {coworker!r}. "
                f"Choose one of these roles, exactly as written:\n{roles}"
            )
        run = current_run.get()
        if run is None:  # called directly (``tool.run(...)``): a run of its own, as in CrewAI
            from ..run_state import Run

            run = Run({}, agents=tuple(self.coworkers))
        return await coworker_answer(run, agent, request, context)


class DelegateWorkTool(_CoworkerTool):
    """Hands a task to a coworker and returns the coworker's answer."""

    name: str = "Delegate work to coworker"
    description: str = "Delegate a task to one of your coworkers."
    args_schema: type[BaseModel] = _args_schema("DelegateWork", ())

    async def _arun(self, task: str, context: str, coworker: str | None = None, **_: Any) -> str:
        return await self._ask(task, context, coworker)


class AskQuestionTool(_CoworkerTool):
    """Asks a coworker a question and returns the answer."""

    name: str = "Ask question to coworker"
    description: str = "Ask one of your coworkers a question."
    args_schema: type[BaseModel] = _args_schema("AskQuestion", ())

    async def _arun(
        self, question: str, context: str, coworker: str | None = None, **_: Any
    ) -> str:
        return await self._ask(question, context, coworker)


def delegation_tools(coworkers: Sequence[Agent]) -> list[BaseTool]:
    """The two coworker tools over ``coworkers`` (their roles listed in the descriptions)."""
    names = tuple(dict.fromkeys(a.role for a in coworkers))
    roles = ", ".join(names)
    return [
        DelegateWorkTool(
            coworkers=list(coworkers),
            args_schema=_args_schema("DelegateWork", names),
            description=(
                f"Hand a specific task to one of these coworkers: {roles}. Give the task, "
                "all the context it needs (they know nothing else), and the coworker's role."
            ),
        ),
        AskQuestionTool(
            coworkers=list(coworkers),
            args_schema=_args_schema("AskQuestion", names),
            description=(
                f"Ask a specific question to one of these coworkers: {roles}. Give the "
                "question, all the context it needs (they know nothing else), and the "
                "coworker's role."
            ),
        ),
    ]


async def coworker_answer(run: Run, agent: Agent, request: str, context: str) -> str:
    """A coworker's answer to a delegated task or question: a nested call of ``run``."""
    _, system = run.agent_prompt(agent)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system},
        {"role": "user", "content": task_prompt(request, COWORKER_EXPECTED, context)},
    ]
    who = (None, agent.role)
    caps = run.caps_for(agent)
    if agent.tools:
        from . import caches

        if run.tool_state is None:
            run.tool_state = ToolRunState()
        toolbox = Toolbox(agent.native_tools(), run.tool_state, cache=caches(agent, run.crew))
        raw, _, _ = await act(
            run, agent.llm, messages, toolbox, None, None, who, caps, agent.max_iter
        )
    else:
        raw, _, _ = await answer(run, agent.llm, messages, None, None, who, caps)
    return raw
