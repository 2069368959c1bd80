"""A flow's memory, as CrewAI 1.15's ``Flow`` has it: ``flow.memory``, ``self.remember(...)``,
``self.recall(...)``, ``self.extract_memories(...)``, and their awaitable twins
(``aremember``, ``arecall``, ``aextract_memories``) for ``async def`` methods.

``flow.memory`` is what ``Flow(memory=...)`` or a class attribute ``memory = ...`` gives (a
:class:`~fastcrew.memory.Memory`, a scope or a slice), else — as CrewAI does for every flow —
a ``Memory`` rooted at ``/flow/<flow name>`` (the ``name`` attribute or the class name, made
path-safe: ``MyPipelineFlow`` → ``/flow/mypipelineflow``), built at the first use (no I/O,
nothing imported before), so a flow that never touches its memory pays nothing.
``flow.memory = None`` turns it off: the calls then raise ``ConfigurationError`` (a
``ValueError``, CrewAI's "No memory configured for this flow").

Inside a ``fastcrew.memory.scopes.batch_row`` the memory is seen through the row's scope, as
a crew's is (docs/memory.md). When a kickoff ends (also when it fails) the memory's pending
background saves, if it keeps any, are waited for.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ..process_runtime import get_runtime

if TYPE_CHECKING:
    from ..memory.types import MemoryMatch

__all__ = ["FlowMemory", "adopt_class_memory", "adrain_memory", "init_memory"]

_log = logging.getLogger(__name__)

_UNSET: Any = object()
_KINDS = ("memory", "scope", "slice")
_SLOT = "_fastcrew_memory"
_CLASS_SLOT = "_fastcrew_class_memory"
_build_lock = threading.Lock()


def _checked(value: Any, owner: str) -> Any:
    """``value`` if it is None or a Memory / MemoryScope / MemorySlice."""
    if value is None or getattr(value, "memory_kind", None) in _KINDS:
        return value
    raise ConfigurationError(
        f"{owner}.memory must be a fastcrew.memory Memory (or its scope / slice) or None, "
        f"not {type(value).__name__}"
    )


def _default_memory(flow: Any) -> Any:
    """CrewAI's default: a ``Memory`` rooted at ``/flow/<sanitized flow name>``."""
    from ..memory.scopes import sanitize_scope_name
    from ..memory.unified_memory import Memory

    name = getattr(flow, "name", None) or type(flow).__name__
    return Memory(root_scope=f"/flow/{sanitize_scope_name(name)}")


def _memory_of(flow: Any) -> Any:
    value = flow.__dict__.get(_SLOT, _UNSET)
    if value is not _UNSET:
        return value
    with _build_lock:  # plain-def methods run in threads: one default memory per flow
        value = flow.__dict__.get(_SLOT, _UNSET)
        if value is _UNSET:
            value = getattr(type(flow), _CLASS_SLOT, None)
            if value is None:
                value = _default_memory(flow)
            flow.__dict__[_SLOT] = value
        return value


class _MemoryAttribute:
    """``flow.memory``: read builds the default at first use; ``flow.memory = x`` sets it
    (``None``: no memory)."""

    def __get__(self, flow: Any, owner: type | None = None) -> Any:
        if flow is None:
            return self
        return _memory_of(flow)

    def __set__(self, flow: Any, value: Any) -> None:
        flow.__dict__[_SLOT] = _checked(value, type(flow).__name__)


def adopt_class_memory(cls: type) -> None:
    """A subclass's ``memory = ...`` class attribute becomes its instances' memory (None:
    the default one, as in CrewAI); the attribute itself goes back to ``flow.memory``."""
    value = cls.__dict__.get("memory", _UNSET)
    if value is _UNSET or isinstance(value, _MemoryAttribute | property):
        return
    setattr(cls, _CLASS_SLOT, _checked(value, cls.__name__))
    delattr(cls, "memory")


def init_memory(flow: Any, memory: Any) -> None:
    """``Flow(memory=...)``: this instance's memory (None: the class's, else the default)."""
    if memory is not None:
        flow.__dict__[_SLOT] = _checked(memory, type(flow).__name__)


async def adrain_memory(flow: Any) -> None:
    """Wait for the background saves of the memory this flow used; logged, never raised."""
    value = flow.__dict__.get(_SLOT, _UNSET)
    if value is _UNSET or value is None:
        return  # never used: nothing pending, and no default memory is built for it
    from ..memory.crews import adrain_all

    try:
        await adrain_all([value])
    except Exception as exc:  # a failed background save does not fail the kickoff
        _log.error("waiting for the flow's memory saves failed: %s", exc)


class FlowMemory:
    """The memory half of :class:`~fastcrew.flow.Flow` (CrewAI's ``memory``, ``remember``,
    ``recall``, ``extract_memories``, with async twins)."""

    memory: Any = _MemoryAttribute()

    def _view(self) -> Any:
        """The memory as this call sees it (a batch row's scope inside ``batch_row``)."""
        memory = self.memory
        if memory is None:
            raise ConfigurationError("No memory configured for this flow")
        from ..memory.crews import row_view

        return row_view(memory)

    def _sync(self, coro: Any, api: str) -> Any:
        name = type(self).__name__
        return get_runtime().run(coro, api=f"{name}.{api}", async_api=f"{name}.a{api}")

    async def aremember(self, content: str | list[str], **kwargs: Any) -> Any:
        """Save ``content`` in the flow's memory (``scope``, ``categories``, ``metadata``,
        ``importance``, ... as ``Memory.aremember``) and return its record (None if not
        saved); a list goes to ``aremember_many`` (CrewAI's batch save: ``[]``, saved in the
        background, waited for by a recall and by the kickoff's end)."""
        view = self._view()
        if isinstance(content, list):
            return await view.aremember_many(content, **kwargs)
        return await view.aremember(content, **kwargs)

    def remember(self, content: str | list[str], **kwargs: Any) -> Any:
        """:meth:`aremember`, blocking (refused inside a running loop: await ``aremember``).
        A list goes to the memory's ``remember_many`` (CrewAI's batch save, which may return
        ``[]`` and save in the background: the kickoff waits for it before it ends)."""
        view = self._view()
        if isinstance(content, list) and callable(getattr(view, "remember_many", None)):
            return view.remember_many(content, **kwargs)
        return self._sync(self.aremember(content, **kwargs), "remember")

    async def arecall(self, query: str, **kwargs: Any) -> list[MemoryMatch]:
        """The memories relevant to ``query`` (``scope``, ``categories``, ``limit``,
        ``depth``, ... as ``Memory.arecall``), best first."""
        found: list[MemoryMatch] = await self._view().arecall(query, **kwargs)
        return found

    def recall(self, query: str, **kwargs: Any) -> list[MemoryMatch]:
        """:meth:`arecall`, blocking (refused inside a running loop: await ``arecall``)."""
        view = self._view()  # raise at once, before any coroutine is made
        found: list[MemoryMatch] = self._sync(view.arecall(query, **kwargs), "recall")
        return found

    async def aextract_memories(self, content: str) -> list[str]:
        """The discrete memories the memory's LLM finds in ``content``; saves nothing."""
        found: list[str] = await self._view().aextract_memories(content)
        return found

    def extract_memories(self, content: str) -> list[str]:
        """:meth:`aextract_memories`, blocking."""
        view = self._view()
        found: list[str] = self._sync(view.aextract_memories(content), "extract_memories")
        return found
