"""How a kickoff of a persisted flow restores its state, records where it stands, and saves.

:func:`open_recorder` is called by ``Flow._kickoff`` before any method runs. With a store
(``@persist``, ``Flow(persistence=...)``, or a batch's row store bound with :func:`bind`) it
returns a :class:`Recorder`; a flow without persistence gets None and pays nothing more.

Where a kickoff stands is its **frame**: the methods scheduled but not completed (running
ones and the ones just fired, each with its argument), the ``and_`` / ``or_`` bookkeeping and
the per-method call counts. A save after a method completed writes the state (JSON) and the
frame (pickled) in one row; restoring an unfinished kickoff runs the frame's methods — the
ones that were running when it stopped are run again from their start — and never the
methods completed before the save. A finished kickoff is saved as such: restoring it runs
the flow again from its start methods, on the restored state, as CrewAI does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import sys
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ...errors import ConfigurationError, FlowPersistenceError
from ...process_runtime import get_runtime
from .._state import jsonable
from .base import Checkpoint, FlowPersistence, describe
from .decorators import PersistPlan, plan_of
from .sqlite import SQLiteFlowPersistence, default_db_path

if TYPE_CHECKING:
    from .._graph import Step

__all__ = ["Binding", "Recorder", "bind", "default_store", "is_persisted", "load", "open_recorder"]

logger = logging.getLogger("fastcrew.flow")

BINDING = "_fastcrew_binding"
_FRAME_VERSION = 1
_defaults: dict[str, SQLiteFlowPersistence] = {}
_defaults_lock = threading.Lock()
_warned: set[str] = set()


def default_store() -> SQLiteFlowPersistence:
    """The process's store at :func:`default_db_path` (one per path)."""
    path = os.path.abspath(default_db_path())
    with _defaults_lock:
        store = _defaults.get(path)
        if store is None:
            store = _defaults[path] = SQLiteFlowPersistence(path)
        return store


def is_persisted(flow_cls: type) -> bool:
    """Whether ``flow_cls`` saves its state (``@persist`` on the class or a method)."""
    return plan_of(flow_cls) is not None


@dataclass(frozen=True, slots=True)
class Binding:
    """A store and key that replace a flow instance's own (what a batch row uses)."""

    store: FlowPersistence
    key: str
    checkpoint: Checkpoint | None
    """An unfinished checkpoint to continue from (loaded by the caller), or None."""


def bind(flow: Any, store: FlowPersistence, key: str, checkpoint: Checkpoint | None) -> None:
    """Make ``flow``'s next kickoff save to ``store`` under ``key`` (not its state id),
    continuing ``checkpoint`` if given; the kickoff's inputs are not merged into a
    continued state (it holds them already)."""
    setattr(flow, BINDING, Binding(store, key, checkpoint))


def _load(store: Any, key: str) -> Checkpoint | None:
    method = getattr(store, "load_checkpoint", None)
    return method(key) if callable(method) else FlowPersistence.load_checkpoint(store, key)


def _save(store: Any, key: str, checkpoint: Checkpoint) -> None:
    method = getattr(store, "save_checkpoint", None)
    if callable(method):
        method(key, checkpoint)
    else:
        FlowPersistence.save_checkpoint(store, key, checkpoint)


async def load(store: Any, key: str, flow_name: str) -> Checkpoint | None:
    """The checkpoint of ``key`` in ``store``, read in the runtime's thread pool."""
    try:
        return await get_runtime().run_in_thread(_load, store, key)
    except Exception as exc:
        raise FlowPersistenceError(
            f"could not load the persisted state of {flow_name} (id {key!r}) from "
            f"{describe(store)}: {type(exc).__name__}: {exc}",
            flow_id=key,
            store=describe(store),
        ) from exc


def _snapshot(make: Any) -> Checkpoint:
    """``make()``, tried again if a sync method (in a thread) resized the dict state while
    it was being copied."""
    for attempt in range(3):
        try:
            return make()
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def open_recorder(
    flow: Any, inputs: Mapping[str, Any] | None, no_input: Any, fork: str | None = None
) -> Any:
    """The :class:`Recorder` of ``flow``'s kickoff, or None when it has no store; restores a
    persisted state (``inputs["id"]``, or the bound checkpoint) into ``flow._state``.

    ``fork`` (``kickoff(restore_from_state_id=...)``): the state id whose latest saved state
    seeds this kickoff under a new id (``inputs["id"]`` if given, else a fresh UUID); the
    kickoff runs from the start methods. An id with no record is ignored, as in CrewAI."""
    cls = type(flow)
    binding: Binding | None = getattr(flow, BINDING, None)
    explicit = flow._persistence
    plan = plan_of(cls)
    if binding is None and explicit is None and plan is None:
        if fork is not None:
            raise ConfigurationError(
                f"{cls.__name__}.kickoff(restore_from_state_id=...) reads a persisted state, "
                "but the flow has no store: decorate it with @persist or pass "
                "Flow(persistence=...)"
            )
        return None
    merge = True
    key: str | None = None
    checkpoint: Checkpoint | None = None
    new_id: str | None = None
    if binding is not None:
        store: Any = binding.store
        key, checkpoint, merge = binding.key, binding.checkpoint, False
    else:
        store = explicit or (plan.store if plan is not None and plan.store else default_store())
        pinned = str(inputs["id"]) if inputs and inputs.get("id") is not None else None
        if fork is not None:
            source = await load(store, str(fork), cls.__name__)
            if source is None:
                logger.warning(
                    "%s: no persisted state with id %r to fork (restore_from_state_id); "
                    "running without it",
                    cls.__name__,
                    fork,
                )
            else:  # a new run on the source's state: from the start methods, a new id
                checkpoint = replace(source, finished=True, frame=None)
                key = new_id = pinned or str(uuid.uuid4())
        if checkpoint is None and pinned is not None:
            key = pinned
            checkpoint = await load(store, key, cls.__name__)
    recorder = Recorder(flow, store, key, plan, no_input)
    recorder.bound = binding is not None
    if checkpoint is not None:
        recorder.restore(checkpoint, inputs if merge else None, new_id)
    return recorder


class Recorder:
    """The persistence of one kickoff: restore, the frame, the saves (in order)."""

    __slots__ = (
        "bound",
        "done_counts",
        "done_steps",
        "flow",
        "frame",
        "key",
        "last_method",
        "lock",
        "methods",
        "no_input",
        "pending",
        "restored",
        "serial",
        "store",
        "verbose",
    )

    def __init__(
        self, flow: Any, store: Any, key: str | None, plan: PersistPlan | None, no_input: Any
    ) -> None:
        self.flow = flow
        self.store = store
        self.key = key
        self.methods = plan.methods if plan is not None else frozenset()
        self.verbose = plan.verbose if plan is not None else False
        self.bound = False
        """Saved under a batch row's key, not the state's id."""
        self.no_input = no_input
        self.pending: dict[int, tuple[str, Any]] = {}
        self.serial = 0
        self.done_counts: dict[str, int] = {}
        self.done_steps = 0
        self.last_method: str | None = None
        self.restored = False
        self.frame: bytes | None = None
        self.lock = asyncio.Lock()

    # -- restore --------------------------------------------------------------------------

    def _error(self, message: str) -> FlowPersistenceError:
        name = type(self.flow).__name__
        return FlowPersistenceError(
            f"{name} (id {self.key!r}, {describe(self.store)}): {message}",
            flow_id=self.key,
            store=describe(self.store),
        )

    def restore(
        self, checkpoint: Checkpoint, inputs: Mapping[str, Any] | None, new_id: str | None = None
    ) -> None:
        """Put the checkpoint's state in the flow (validated by a model state), then the
        inputs other than ``id`` over it; ``new_id`` replaces the state's id (a fork)."""
        spec = type(self.flow)._fastcrew_state
        if spec.model is None:
            state: Any = dict(checkpoint.state)
        else:
            try:
                state = spec.model.model_validate(checkpoint.state)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or '(state)'}: {e['msg']}"
                    for e in exc.errors()
                )
                raise self._error(
                    f"the persisted state does not fit {spec.model.__name__} ({problems}); did "
                    "the state model change since it was saved? Kick off with a new id"
                ) from None
        rest = {k: v for k, v in inputs.items() if k != "id"} if inputs else {}
        if new_id is not None:
            rest["id"] = new_id
        self.flow._state = spec.merge(state, rest) if rest else state
        self.restored = True
        if not checkpoint.finished and checkpoint.frame is not None:
            self.frame = checkpoint.frame

    def start(self, run: Any, entries: list[Step]) -> list[tuple[Step, Any, int]]:
        """What the kickoff runs first: the frame's methods when continuing, else the
        entries; every one registered as pending."""
        if self.key is None:
            self.key = self.flow.flow_id
            if not self.key:
                raise self._error("a persisted flow's state needs an id (state['id'] or .id)")
        if self.frame is None:
            return [(s, self.no_input, self._schedule(s.name, self.no_input)) for s in entries]
        try:
            version, pending, seen, fired, counts, steps, last = pickle.loads(self.frame)
        except Exception as exc:
            raise self._error(
                f"cannot read where the interrupted kickoff stopped ({type(exc).__name__}: "
                f"{exc}); kick off with a new id to start over"
            ) from None
        graph = run.graph
        missing = [name for name, _, _ in pending if name not in graph.steps]
        if version != _FRAME_VERSION or missing or len(seen) != graph.n_alls:
            what = f"methods {missing} it no longer has" if missing else "a different graph"
            raise self._error(
                f"the interrupted kickoff continues at {what}; the flow changed since it was "
                "saved — kick off with a new id to start over"
            )
        run.seen[:] = seen
        run.fired.update(dict.fromkeys(fired, -1))  # fired in an earlier wave
        run.counts.update(counts)
        run.steps = steps
        run.last = last
        self.done_counts = dict(counts)
        self.done_steps = steps
        out = []
        for name, has_arg, payload in pending:
            value = payload if has_arg else self.no_input
            out.append((graph.steps[name], value, self._schedule(name, value)))
        return out

    # -- recording ------------------------------------------------------------------------

    def _schedule(self, name: str, payload: Any) -> int:
        self.serial += 1
        self.pending[self.serial] = (name, payload)
        return self.serial

    async def completed(
        self, run: Any, token: int, step: Step, following: list[tuple[Step, Any]]
    ) -> list[int]:
        """``step`` returned and fired ``following``: record it, save if it is persisted
        (unless the kickoff is over: :meth:`finish` saves then); the followers' tokens."""
        tokens = [self._schedule(s.name, v) for s, v in following]
        self.pending.pop(token, None)
        self.done_counts[step.name] = self.done_counts.get(step.name, 0) + 1
        self.done_steps += 1
        self.last_method = step.name
        if step.name in self.methods and self.pending:
            await self._write(step.name, lambda: self._checkpoint(run, step.name))
        return tokens

    async def finish(self, run: Any) -> None:
        """The kickoff finished: save the final state, marked finished, with its result."""
        if not self.methods:
            return
        method = self.last_method

        def final() -> Checkpoint:
            state = type(self.flow)._fastcrew_state.to_json(self.flow.state)
            return Checkpoint(state, method, finished=True, result=jsonable(run.last))

        await self._write(method or "", final)

    def _checkpoint(self, run: Any, method: str) -> Checkpoint:
        state = type(self.flow)._fastcrew_state.to_json(self.flow.state)
        no_input = self.no_input
        pending = [
            (name, p is not no_input, None if p is no_input else p)
            for name, p in self.pending.values()
        ]
        data = (
            _FRAME_VERSION,
            pending,
            list(run.seen),
            sorted(run.fired),
            dict(self.done_counts),
            self.done_steps,
            run.last if not pending else None,
        )
        try:
            frame: bytes | None = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            frame = None
            name = type(self.flow).__name__
            if name not in _warned:
                _warned.add(name)
                logger.warning(
                    "%s: a method's return value cannot be pickled (%s: %s); its state is "
                    "saved, but an interrupted kickoff restarts from the start methods",
                    name,
                    type(exc).__name__,
                    exc,
                )
        return Checkpoint(state, method, finished=False, frame=frame)

    async def _write(self, method: str, make: Any) -> None:
        """Save what ``make()`` snapshots, in order: the snapshot is taken under the lock,
        so a later save never lands before an earlier one. A save once started completes
        even if the kickoff is cancelled meanwhile."""
        async with self.lock:
            checkpoint = _snapshot(make)
            if not self.bound:  # saved under the state's id, even if a method changed it
                self.key = self.flow.flow_id or self.key
            assert self.key is not None
            write = asyncio.ensure_future(
                get_runtime().run_in_thread(_save, self.store, self.key, checkpoint)
            )
            try:
                try:
                    await asyncio.shield(write)
                except asyncio.CancelledError:
                    # A sibling failed (or the kickoff was cancelled): the method completed,
                    # so its save still lands — and before the lock lets a later one start.
                    with contextlib.suppress(Exception):
                        await write
                    raise
            except Exception as exc:
                raise self._error(
                    f"could not save the state after {method!r}: {type(exc).__name__}: {exc}"
                ) from exc
        if self.verbose:
            name = type(self.flow).__name__
            print(
                f"fastcrew: saved the state of {name} (id {self.key}) after {method!r} to "
                f"{describe(self.store)}",
                file=sys.stderr,
            )
