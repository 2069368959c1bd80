"""The decorators of a ``@CrewBase`` class: ``@agent``, ``@task``, ``@crew`` and friends.

``@agent``, ``@task``, ``@llm``, ``@tool``, ``@callback`` and ``@cache_handler`` methods are
memoized per instance: every call on one instance returns the same object (so a task's
``agent`` and the crew's agent are one Agent), while a new instance builds new ones.
``@crew`` collects ``self.agents`` and ``self.tasks`` (definition order), calls the method
and attaches the ``@before_kickoff`` / ``@after_kickoff`` hooks to the Crew it returns.
``@output_json`` / ``@output_pydantic`` mark pydantic classes a ``tasks.yaml`` may name.
Methods may be ``async def`` (as in CrewAI): the coroutine is run at once and its result
memoized.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import ProjectConfigError

__all__ = [
    "KIND",
    "after_kickoff",
    "agent",
    "before_kickoff",
    "cache_handler",
    "callback",
    "crew",
    "llm",
    "memo_of",
    "output_json",
    "output_pydantic",
    "task",
    "tool",
]

KIND = "_fastcrew_project_kind"
"""The attribute naming what a decorated member is ("agent", "task", ...)."""
MEMO = "_fastcrew_memo"
_BUSY = object()
F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)


def memo_of(instance: Any) -> dict[Any, Any]:
    """The per-instance memo of decorated methods (created on first use)."""
    found = instance.__dict__.get(MEMO)
    if found is None:
        found = instance.__dict__[MEMO] = {}
    return found


def awaited_now(result: Any) -> Any:
    """``result``, or what it gives when it is a coroutine (an ``async def`` method, as
    CrewAI accepts): run on the runtime's home loop, or — inside a running event loop — to
    completion in a helper thread."""
    if not inspect.iscoroutine(result):
        return result
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        from ..process_runtime import get_runtime

        return get_runtime().run(result, api="a @CrewBase method")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, result).result()


def _memoized(meth: Callable[..., Any], kind: str, finish: Callable[[Any], Any] | None) -> Any:
    name = meth.__name__

    @functools.wraps(meth)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        key: Any = name
        if args or kwargs:
            try:
                key = (name, args, tuple(sorted(kwargs.items())))
                hash(key)
            except TypeError:  # unhashable arguments: no memo
                key = None
        memo = memo_of(self)
        if key is not None:
            found = memo.get(key)
            if found is _BUSY:
                raise ProjectConfigError(
                    f"@{kind} {type(self).__name__}.{name} needs itself: a task's context "
                    "(or an agent's tools) loops back to it; break the cycle in the YAML"
                )
            if found is not None:
                return found
            memo[key] = _BUSY
        try:
            result = awaited_now(meth(self, *args, **kwargs))
            if finish is not None:
                result = finish(result)
        except BaseException:
            if key is not None:
                memo.pop(key, None)
            raise
        if key is not None:
            memo[key] = result
        return result

    setattr(wrapper, KIND, kind)
    return wrapper


def _mark(obj: Any, kind: str) -> Any:
    setattr(obj, KIND, kind)
    return obj


def agent(meth: F) -> F:
    """Mark a method that returns an :class:`~fastcrew.Agent` (memoized per instance)."""
    return _memoized(meth, "agent", None)


def task(meth: F) -> F:
    """Mark a method that returns a :class:`~fastcrew.Task`; an unnamed task gets the
    method's name (memoized per instance)."""
    name = meth.__name__

    def named(result: Any) -> Any:
        if getattr(result, "name", None) is None and hasattr(result, "name"):
            result.name = name
        return result

    return _memoized(meth, "task", named)


def llm(meth: F) -> F:
    """Mark a method returning an LLM; an agent's ``llm: <method name>`` in YAML uses it."""
    return _memoized(meth, "llm", None)


def tool(meth: F) -> F:
    """Mark a method returning a tool; ``tools: [<method name>, ...]`` in YAML uses it."""
    return _memoized(meth, "tool", None)


def callback(meth: F) -> F:
    """Mark a method returning a callback, named by ``step_callback:`` / ``callbacks:``."""
    return _memoized(meth, "callback", None)


def cache_handler(meth: F) -> F:
    """Mark a method returning a cache handler (accepted and ignored: fastcrew's tool cache is
    per run, switched on with ``Crew(cache=True)`` / ``Agent(cache=True)``)."""
    return _memoized(meth, "cache_handler", None)


def before_kickoff(meth: F) -> F:
    """Run ``meth(self, inputs)`` before every kickoff of the crew; a returned dict
    replaces the inputs."""
    return _mark(meth, "before_kickoff")


def after_kickoff(meth: F) -> F:
    """Run ``meth(self, output)`` after every kickoff; a returned value replaces the output."""
    return _mark(meth, "after_kickoff")


def output_json(cls: C) -> C:
    """Mark a pydantic class that a task's ``output_json: <ClassName>`` in YAML may name."""
    return _mark(cls, "output_json")


def output_pydantic(cls: C) -> C:
    """Mark a pydantic class that a task's ``output_pydantic: <ClassName>`` may name."""
    return _mark(cls, "output_pydantic")


def crew(meth: F) -> F:
    """Mark the method returning the :class:`~fastcrew.Crew` (memoized per instance).

    Before it runs, every ``@task`` method and every ``@agent`` method is called in
    definition order: ``self.tasks`` and ``self.agents`` hold the results (plus any task's
    agent not built by an ``@agent`` method). The crew's name defaults to the class name.
    """

    @functools.wraps(meth)
    def build(self: Any, *args: Any, **kwargs: Any) -> Any:
        from .crew_base import collect, hook_up

        collect(self)
        return hook_up(self, awaited_now(meth(self, *args, **kwargs)))

    return _memoized(build, "crew", None)
