"""The store interface of flow persistence (CrewAI's ``FlowPersistence``) and the record
fastcrew keeps per state id (:class:`Checkpoint`).

A store written for CrewAI — ``init_db()``, ``save_state(flow_uuid, method_name, state_data)``,
``load_state(flow_uuid)`` — works as it is: it restores states, and a kickoff restoring one
runs the flow from its start methods, as in CrewAI. A store that also keeps checkpoints
(:meth:`FlowPersistence.save_checkpoint` / :meth:`FlowPersistence.load_checkpoint`, as
:class:`~fastcrew.flow.persistence.SQLiteFlowPersistence` does) lets an interrupted kickoff
continue where it stopped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel

from ...errors import ConfigurationError
from .._state import jsonable

__all__ = ["Checkpoint", "FlowPersistence", "check_store", "describe", "state_dict"]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What a store keeps for one state id: the latest save."""

    state: dict[str, Any]
    """The state as JSON-ready data."""
    method: str | None = None
    """The flow method whose completion was saved last (None: unknown)."""
    finished: bool = False
    """The kickoff finished: a restore runs the flow again from its start methods."""
    frame: bytes | None = field(default=None, repr=False)
    """Where an unfinished kickoff stands (the methods still to run), opaque; None: unknown,
    so a restore runs from the start methods."""
    result: Any = None
    """The kickoff's return value as JSON-ready data, once ``finished``."""


def state_dict(state_data: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    """A state (model or mapping) as a JSON-ready dict."""
    if isinstance(state_data, BaseModel):
        return state_data.model_dump(mode="json")
    if isinstance(state_data, Mapping):
        return jsonable(state_data)
    raise TypeError(f"a flow state is a pydantic model or a dict, not {type(state_data).__name__}")


class FlowPersistence(ABC):
    """Where persisted flow states live, keyed by state id (CrewAI's interface).

    Subclass it with ``init_db``, ``save_state`` and ``load_state`` for a store of your own.
    Methods are synchronous; fastcrew calls them in the runtime's thread pool, so they may
    block. They may be called from several threads at once (concurrent flows).
    """

    persistence_type: ClassVar[str] = "base"

    @abstractmethod
    def init_db(self) -> None:
        """Prepare the store (create tables, open connections)."""

    @abstractmethod
    def save_state(
        self, flow_uuid: str, method_name: str, state_data: dict[str, Any] | BaseModel
    ) -> None:
        """Save the state of flow ``flow_uuid`` after method ``method_name`` completed."""

    @abstractmethod
    def load_state(self, flow_uuid: str) -> dict[str, Any] | None:
        """The latest saved state of ``flow_uuid``, or None."""

    def save_checkpoint(self, flow_uuid: str, checkpoint: Checkpoint) -> None:
        """Save a :class:`Checkpoint`; by default only its state (``save_state``)."""
        self.save_state(flow_uuid, checkpoint.method or "", checkpoint.state)

    def load_checkpoint(self, flow_uuid: str) -> Checkpoint | None:
        """The latest :class:`Checkpoint` of ``flow_uuid``, or None; by default the state of
        ``load_state``, as a finished kickoff (a restore runs from the start methods)."""
        state = self.load_state(flow_uuid)
        if state is None:
            return None
        return Checkpoint(state=dict(state), finished=True)

    def describe(self) -> str:
        """How errors name this store."""
        return type(self).__name__


def describe(store: Any) -> str:
    """How errors name ``store`` (any object with CrewAI's store methods)."""
    method = getattr(store, "describe", None)
    return method() if callable(method) else type(store).__name__


def check_store(persistence: Any, where: str) -> FlowPersistence | None:
    """``persistence`` if it is None, a :class:`FlowPersistence` or a duck-typed CrewAI-style
    store (``save_state`` and ``load_state``); else a ConfigurationError naming ``where``."""
    if persistence is None or isinstance(persistence, FlowPersistence):
        return persistence
    if callable(getattr(persistence, "save_state", None)) and callable(
        getattr(persistence, "load_state", None)
    ):
        return persistence  # duck-typed CrewAI-style store
    raise ConfigurationError(
        f"{where}(persistence=...) takes a FlowPersistence (e.g. "
        f"SQLiteFlowPersistence('flows.db')), not {type(persistence).__name__}"
    )
